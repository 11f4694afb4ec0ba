"""A quiz's leaderboard in Redis: a sorted set of totals and a hash of names beside it.

Every write is an absolute total applied with `ZADD … GT` (totals only grow), so an event
applied twice or out of order leaves the same board. Each script refuses to work on a
board that is missing or partial (flushed, evicted): the names hash carries a marker
field, and the board is intact only when the hash exists and holds one name per member,
and its version is there (readers keep what they rendered of a version, so a version
must never start again from 0). The caller then rebuilds the board from PostgreSQL
(shared/leaderboard/rebuild.py), which sets the version from the clock.

Reads cost O(log N + k): ZREVRANGE, ZREVRANK and ZCOUNT, never a scan of the members.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.exceptions

from shared import live_notices, redis_keys
from shared.leaderboard.ranking import Entry, entries_of, member_of

# a board read again after this long is rebuilt from PostgreSQL; every write renews it
BOARD_TTL_S = 7 * 24 * 3600
# the names hash always holds this field, so an empty board is told apart from a lost one
BUILT_FIELD = "~built"
MISSING = -1

_INTACT = """
local function intact()
  return redis.call('EXISTS', KEYS[2]) == 1 and redis.call('EXISTS', KEYS[3]) == 1
     and redis.call('ZCARD', KEYS[1]) == redis.call('HLEN', KEYS[2]) - 1
end
local function keep(ttl)
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
"""

# KEYS board, names, version, removed, epochs; ARGV ttl, then member, total, display name,
# epoch for each update -> -1 board missing, else how many members changed. A member the
# host removed is never put back by an update that was on its way. Epochs (the quiz's
# score corrections when the total was computed) are kept per member once one is above 0:
# a total of a newer epoch replaces the member's, even a lower one (a correction); one of
# the same epoch only raises it; one of an older epoch is stale and skipped.
_APPLY = (
    _INTACT
    + """
if not intact() then return -1 end
local changed = 0
local epochs = redis.call('EXISTS', KEYS[5]) == 1
for i = 2, #ARGV, 4 do
  local member, epoch = ARGV[i], tonumber(ARGV[i + 3])
  if redis.call('SISMEMBER', KEYS[4], member) == 0 then
    local known = 0
    if epochs then known = tonumber(redis.call('HGET', KEYS[5], member) or '0') end
    if epoch > known then
      changed = changed + redis.call('ZADD', KEYS[1], 'CH', ARGV[i + 1], member)
      redis.call('HSET', KEYS[5], member, epoch)
      epochs = true
    elseif epoch == known then
      changed = changed + redis.call('ZADD', KEYS[1], 'GT', 'CH', ARGV[i + 1], member)
    end
    if epoch >= known then
      changed = changed + redis.call('HSET', KEYS[2], member, ARGV[i + 2])
    end
  end
end
if changed > 0 then redis.call('INCR', KEYS[3]) end
keep(ARGV[1])
if epochs then redis.call('EXPIRE', KEYS[5], ARGV[1]) end
return changed
"""
)

# KEYS board, names, version; ARGV member, display name, ttl -> -1 missing, 1 added, 0 known
_ADD = (
    _INTACT
    + """
if not intact() then return -1 end
local added = redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if added > 0 then redis.call('INCR', KEYS[3]) end
keep(ARGV[3])
return added
"""
)

# KEYS board, names, version; ARGV limit, around, known version ('' for none), then the
# members whose rows are asked for -> {-1} missing, else {total, version, fresh, top, top
# names, then per member {start, greater, rows, names}} (start -1: not on the board);
# fresh 0: the board is still at the known version and the top is left out (the caller
# has it)
_READ = (
    _INTACT
    + """
if not intact() then return {-1} end
local version = redis.call('GET', KEYS[3]) or '0'
local fresh, top, top_names = 0, {}, {}
if version ~= ARGV[3] then
  fresh = 1
  top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
  local top_members = {}
  for i = 1, #top, 2 do top_members[#top_members + 1] = top[i] end
  if #top_members > 0 then top_names = redis.call('HMGET', KEYS[2], unpack(top_members)) end
end
local reply = {redis.call('ZCARD', KEYS[1]), version, fresh, top, top_names}
local around = tonumber(ARGV[2])
for m = 4, #ARGV do
  local row = {-1, 0, {}, {}}
  local position = redis.call('ZREVRANK', KEYS[1], ARGV[m])
  if position then
    local start = math.max(0, position - around)
    local mine = redis.call('ZREVRANGE', KEYS[1], start, position + around, 'WITHSCORES')
    local members = {}
    for i = 1, #mine, 2 do members[#members + 1] = mine[i] end
    row = {start, redis.call('ZCOUNT', KEYS[1], '(' .. mine[2], '+inf'), mine,
           redis.call('HMGET', KEYS[2], unpack(members))}
  end
  reply[#reply + 1] = row
end
return reply
"""
)

# KEYS board, names, version; ARGV members -> {-1} missing, else per member
# {score|false, greater, name}
_ROWS = (
    _INTACT
    + """
if not intact() then return {-1} end
local rows = {}
for i = 1, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    rows[i] = {score, redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf'),
               redis.call('HGET', KEYS[2], ARGV[i])}
  else
    rows[i] = {false, 0, false}
  end
end
return rows
"""
)

# KEYS board, names, version, staged board, staged names; ARGV ttl, now in microseconds
# Swap a rebuilt board in at once; the version jumps to the clock so it never repeats.
_SWAP = """
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RENAME', KEYS[4], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('RENAME', KEYS[5], KEYS[2])
local version = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[2]) > version then
  redis.call('SET', KEYS[3], ARGV[2])
else
  redis.call('INCR', KEYS[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return redis.call('GET', KEYS[3])
"""

STAGING_TTL_S = 600
CHUNK = 5000

_SHAS: dict[str, str] = {}


def _run(client: redis.Redis, script: str, numkeys: int, *args: Any) -> Any:
    """Run a script by its SHA1 (Redis keeps it compiled); send its body only once."""
    sha = _SHAS.get(script)
    if sha is None:
        sha = _SHAS[script] = hashlib.sha1(script.encode()).hexdigest()
    try:
        return client.evalsha(sha, numkeys, *args)
    except redis.exceptions.NoScriptError:
        return client.eval(script, numkeys, *args)


@dataclass(frozen=True)
class BoardView:
    """One consistent read of a board."""

    total_participants: int
    version: int
    # None when the reader said it knew this version: the top was not read again
    entries: list[Entry] | None
    # the participant's own row and its neighbours; empty when not asked or not on the board
    around: list[Entry]

    def row_of(self, participant_id: int) -> Entry | None:
        return next((e for e in self.around if e.participant_id == participant_id), None)


@dataclass(frozen=True)
class Standing:
    participant_id: int
    display_name: str
    total_score: int
    # the quiz's score epoch the total was computed in (0 until a first correction)
    epoch: int = 0


def _keys(quiz_code: str) -> list[str]:
    return [
        redis_keys.leaderboard(quiz_code),
        redis_keys.leaderboard_names(quiz_code),
        redis_keys.leaderboard_version(quiz_code),
    ]


def apply_totals(client: redis.Redis, quiz_code: str, standings: Sequence[Standing]) -> int | None:
    """Raise participants' totals to the given ones, in one call; a total of a newer
    score epoch replaces the board's (a correction may lower it).

    Returns how many members changed, or None when the board is missing and must be
    rebuilt first.
    """
    args: list[Any] = [BOARD_TTL_S]
    for standing in standings:
        args += [
            member_of(standing.participant_id),
            standing.total_score,
            standing.display_name,
            standing.epoch,
        ]
    removed = redis_keys.leaderboard_removed(quiz_code)
    epochs = redis_keys.leaderboard_epochs(quiz_code)
    result = _run(client, _APPLY, 5, *_keys(quiz_code), removed, epochs, *args)
    return None if int(result) == MISSING else int(result)


# KEYS board, names, version, removed; ARGV member, ttl -> 1 taken off the board, 0 not on it
_REMOVE = """
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[2])
local gone = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if gone > 0 then redis.call('INCR', KEYS[3]) end
return gone
"""


def remove_participant(client: redis.Redis, quiz_code: str, participant_id: int) -> bool:
    """Take a removed player off the board for good, and tell the live pages."""
    removed = redis_keys.leaderboard_removed(quiz_code)
    gone = _run(
        client, _REMOVE, 4, *_keys(quiz_code), removed, member_of(participant_id), BOARD_TTL_S
    )
    live_notices.publish(client, quiz_code, live_notices.BOARD_CHANGED)
    return bool(gone)


# KEYS board, names, version, removed; ARGV ttl, then for each change: member, the score
# seen ('' for none), the score to write ('' to take the member off), the name -> how
# many were written. A change is skipped when the member's score is no longer the one
# seen, and a player the host removed is never put back.
_COMPARE_AND_SET = (
    _INTACT
    + """
if not intact() then return 0 end
local written = 0
for i = 2, #ARGV, 4 do
  local member, seen, want, name = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local now = redis.call('ZSCORE', KEYS[1], member)
  local same = (now == false and seen == '') or (now ~= false and tonumber(now) == tonumber(seen))
  if same then
    if want == '' then
      written = written + redis.call('ZREM', KEYS[1], member)
      redis.call('HDEL', KEYS[2], member)
    elseif redis.call('SISMEMBER', KEYS[4], member) == 0 then
      redis.call('ZADD', KEYS[1], want, member)
      redis.call('HSET', KEYS[2], member, name)
      written = written + 1
    end
  end
end
if written > 0 then
  redis.call('INCR', KEYS[3])
  keep(ARGV[1])
end
return written
"""
)


def compare_and_set(
    client: redis.Redis,
    quiz_code: str,
    changes: Sequence[tuple[int, int | None, int | None, str]],
) -> int:
    """Write totals (lower ones too) or take members off, each only if the board still shows
    the score seen: (participant id, score seen or None, score to write or None to take
    them off, display name). Returns how many were written; 0 when the board is missing."""
    args: list[Any] = [BOARD_TTL_S]
    for participant_id, seen, want, name in changes:
        args += [
            member_of(participant_id),
            "" if seen is None else seen,
            "" if want is None else want,
            name,
        ]
    removed = redis_keys.leaderboard_removed(quiz_code)
    return int(_run(client, _COMPARE_AND_SET, 4, *_keys(quiz_code), removed, *args))


def apply_total(
    client: redis.Redis, quiz_code: str, participant_id: int, display_name: str, total: int
) -> bool | None:
    """Raise one participant's total: whether the board changed, None when it is missing."""
    changed = apply_totals(client, quiz_code, [Standing(participant_id, display_name, total)])
    return None if changed is None else changed > 0


def add_participant(
    client: redis.Redis, quiz_code: str, participant_id: int, display_name: str
) -> bool | None:
    """Put a participant who just joined on the board with 0 points.

    Returns whether it was added, or None when the board is missing and must be rebuilt.
    """
    result = _run(
        client, _ADD, 3, *_keys(quiz_code), member_of(participant_id), display_name, BOARD_TTL_S
    )
    return None if int(result) == MISSING else bool(result)


def _pairs(flat: Sequence[Any]) -> tuple[list[str], list[int]]:
    members = [str(m) for m in flat[0::2]]
    scores = [int(float(s)) for s in flat[1::2]]
    return members, scores


def read(
    client: redis.Redis,
    quiz_code: str,
    limit: int,
    participant_id: int | None = None,
    around: int = 0,
    known_version: int | None = None,
) -> BoardView | None:
    """The top `limit` entries and, for `participant_id`, its row with `around` neighbours
    on each side; None when the board is missing.

    A reader that keeps the top of a version it read before passes that `known_version`:
    while the board is still at it, the top is not read again (`entries` is None).
    """
    wanted = [participant_id] if participant_id is not None else []
    return view_of(
        read_for(client, quiz_code, limit, wanted, around, known_version), participant_id
    )


def view_of(
    found: tuple[BoardView, dict[int, list[Entry]]] | None, participant_id: int | None
) -> BoardView | None:
    """One reader's view in what read_for found: the board, with that reader's rows."""
    if found is None:
        return None
    view, rows = found
    if participant_id is None:
        return view
    # built whole, not with dataclasses.replace: every leaderboard read passes here
    neighbours = rows.get(participant_id, [])
    return BoardView(view.total_participants, view.version, view.entries, neighbours)


def read_for(
    client: redis.Redis,
    quiz_code: str,
    limit: int,
    participant_ids: Sequence[int],
    around: int = 0,
    known_version: int | None = None,
) -> tuple[BoardView, dict[int, list[Entry]]] | None:
    """One consistent read for several readers: the board (as read() gives it, `around`
    empty) and each participant's row with its neighbours, for those on the board; None
    when the board is missing."""
    known = "" if known_version is None else known_version
    members = [member_of(p) for p in participant_ids]
    reply = _run(client, _READ, 3, *_keys(quiz_code), limit, around, known, *members)
    if int(reply[0]) == MISSING:
        return None
    total, version, fresh, top, top_names = reply[:5]
    entries = None
    if fresh:
        top_members, top_scores = _pairs(top)
        entries = entries_of(top_members, top_scores, list(top_names), 0, 0)
    rows: dict[int, list[Entry]] = {}
    for participant_id, (start, greater, mine, names) in zip(
        participant_ids, reply[5:], strict=True
    ):
        if int(start) >= 0:
            neighbours, scores = _pairs(mine)
            rows[participant_id] = entries_of(
                neighbours, scores, list(names), int(greater), int(start)
            )
    view = BoardView(
        total_participants=int(total), version=int(version), entries=entries, around=[]
    )
    return view, rows


def rows(
    client: redis.Redis, quiz_code: str, participant_ids: Sequence[int]
) -> dict[int, Entry] | None:
    """Each participant's own row (rank, score, name) in one call; None: board missing.

    Participants not on the board are left out.
    """
    if not participant_ids:
        return {}
    reply = _run(client, _ROWS, 3, *_keys(quiz_code), *(member_of(p) for p in participant_ids))
    if reply and reply[0] == MISSING:
        return None
    found: dict[int, Entry] = {}
    for participant_id, (score, greater, name) in zip(participant_ids, reply, strict=True):
        if score is None:
            continue
        found[participant_id] = Entry(
            rank=int(greater) + 1,
            participant_id=participant_id,
            display_name=name or "",
            score=int(float(score)),
        )
    return found


def is_intact(client: redis.Redis, quiz_code: str) -> bool:
    board, names, version = _keys(quiz_code)
    with client.pipeline(transaction=True) as pipe:
        pipe.exists(names, version)
        pipe.zcard(board)
        pipe.hlen(names)
        exists, size, named = pipe.execute()
    return bool(exists == 2 and size == named - 1)


def replace(client: redis.Redis, quiz_code: str, standings: Iterable[Standing], token: str) -> int:
    """Write a whole board beside the live one, then swap it in at once; return the version.

    Readers see the old board or the new one, never a board half written.
    """
    staged_board = redis_keys.leaderboard_staging(quiz_code, token)
    staged_names = redis_keys.leaderboard_names_staging(quiz_code, token)
    client.delete(staged_board, staged_names)
    client.hset(staged_names, BUILT_FIELD, str(time.time()))
    client.expire(staged_names, STAGING_TTL_S)
    for chunk in _chunks(standings):
        with client.pipeline(transaction=False) as pipe:
            pipe.zadd(staged_board, {member_of(s.participant_id): s.total_score for s in chunk})
            pipe.hset(
                staged_names, mapping={member_of(s.participant_id): s.display_name for s in chunk}
            )
            pipe.expire(staged_board, STAGING_TTL_S)
            pipe.execute()
    version = _run(
        client,
        _SWAP,
        5,
        *_keys(quiz_code),
        staged_board,
        staged_names,
        BOARD_TTL_S,
        str(int(time.time() * 1_000_000)),
    )
    return int(version)


def set_epochs(client: redis.Redis, quiz_code: str, standings: Sequence[Standing]) -> None:
    """Record each member's score epoch (none kept while every one is 0), for a rebuild."""
    key = redis_keys.leaderboard_epochs(quiz_code)
    if not any(s.epoch for s in standings):
        client.delete(key)
        return
    for chunk in _chunks(standings):
        client.hset(key, mapping={member_of(s.participant_id): s.epoch for s in chunk})
    client.expire(key, BOARD_TTL_S)


def merge(client: redis.Redis, quiz_code: str, standings: Iterable[Standing]) -> int:
    """Raise totals to at least the given ones (ZADD GT), adding missing participants.

    Returns how many members changed. Each chunk keeps names and board together (MULTI).
    """
    board, names, version = _keys(quiz_code)
    changed = 0
    for chunk in _chunks(standings):
        with client.pipeline(transaction=True) as pipe:
            pipe.zadd(
                board, {member_of(s.participant_id): s.total_score for s in chunk}, gt=True, ch=True
            )
            pipe.hset(names, mapping={member_of(s.participant_id): s.display_name for s in chunk})
            changed += int(pipe.execute()[0])
    if changed:
        client.incr(version)
    return changed


def _chunks(standings: Iterable[Standing]) -> Iterable[list[Standing]]:
    chunk: list[Standing] = []
    for standing in standings:
        chunk.append(standing)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
