"""How soon `make run` starts again a process that died (scripts/processes.next_start)."""

from collections import deque

from scripts.processes import MAX_BACKOFF_S, RESTARTS_PER_MINUTE, next_start


def test_the_backoff_doubles_while_a_process_keeps_dying():
    restarts: deque[float] = deque()
    delays = []
    now = 1000.0
    for _ in range(4):
        at = next_start(restarts, now)
        delays.append(at - now)
        restarts.append(at)
        now = at + 0.5  # it dies half a second after each start
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_a_process_that_always_dies_starts_at_most_five_times_a_minute():
    restarts: deque[float] = deque()
    starts = []
    now = 0.0
    while now < 600:
        at = next_start(restarts, now)
        assert at - now <= max(MAX_BACKOFF_S, 60)
        restarts.append(at)
        starts.append(at)
        now = at  # dies at once
    assert all(sum(t <= s < t + 60 for s in starts) <= RESTARTS_PER_MINUTE for t in starts)
    # and it keeps being started: about every MAX_BACKOFF_S once the backoff is at its cap
    assert len(starts) >= 600 / MAX_BACKOFF_S - 5


def test_a_process_that_ran_a_minute_starts_again_after_one_second():
    restarts = deque([900.0, 905.0, 910.0])
    assert next_start(restarts, 1000.0) == 1001.0
    assert not restarts  # the old restarts no longer count
