/* What both live pages share: API calls and the leaderboard stream. No dependencies. */
"use strict";

const Live = (() => {
  const API = "/api/v1";

  async function api(method, path, { body, headers } = {}) {
    const response = await fetch(API + path, {
      method,
      headers: Object.assign(body ? { "Content-Type": "application/json" } : {}, headers || {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.message) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  /* Subscribe to a quiz's leaderboard stream; the browser reconnects by itself and sends
     Last-Event-ID, so the server skips the snapshot when nothing changed meanwhile. */
  function stream(code, { limit = 10, participantId, onBoard, onQuiz, onState }) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (participantId) query.set("participant_id", String(participantId));
    const source = new EventSource(
      `${API}/quizzes/${encodeURIComponent(code)}/leaderboard/stream?${query}`
    );
    source.addEventListener("leaderboard", (event) => onBoard && onBoard(JSON.parse(event.data)));
    source.addEventListener("quiz", (event) => onQuiz && onQuiz(JSON.parse(event.data)));
    source.addEventListener("open", () => onState && onState("live"));
    source.addEventListener("error", () =>
      onState && onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting")
    );
    return source;
  }

  // the server's clock minus this device's, from the last quiz the server sent: deadlines
  // are the server's, so countdowns run on its clock however wrong the device's is
  let clockOffsetMs = 0;

  function syncClock(quiz) {
    if (quiz.server_time) clockOffsetMs = Date.parse(quiz.server_time) - Date.now();
  }

  function serverNow() {
    return Date.now() + clockOffsetMs;
  }

  /* Where the game stands: the lobby, a question open (its timer may have run out a moment
     before the server closes it), the reveal of the last question closed, or finished.
     `closed` counts the questions closed so far: the board after them is
     GET …/leaderboard?after_question=closed. */
  function phaseOf(quiz) {
    syncClock(quiz);
    const questions = quiz.questions || [];
    const closed = questions.filter((q) => q.status === "closed");
    const last = closed.reduce((a, q) => (a && a.position > q.position ? a : q), null);
    const open = questions.find((q) => q.status === "open");
    if (quiz.status === "finished") return { name: "finished", question: last, closed: closed.length };
    if (open) return { name: "question", question: open, closed: closed.length };
    if (last) return { name: "reveal", question: last, closed: closed.length };
    return { name: "lobby", question: null, closed: 0 };
  }

  /* Seconds left until `closes_at` on the server's clock, and the share of the time left. */
  function timeLeft(question) {
    if (!question.closes_at) return { seconds: null, share: 1 };
    const ends = Date.parse(question.closes_at);
    const starts = question.opened_at ? Date.parse(question.opened_at) : ends - question.time_limit_s * 1000;
    const leftMs = Math.max(0, ends - serverNow());
    return { seconds: Math.ceil(leftMs / 1000), share: ends > starts ? leftMs / (ends - starts) : 0 };
  }

  /* "1st", "2nd", "3rd", "4th", … "11th", "12th", "13th", "21st" */
  function ordinal(n) {
    const teen = n % 100 >= 11 && n % 100 <= 13;
    const suffix = teen ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
    return `${n}${suffix}`;
  }

  /* The arrow of a rank movement: "▲ 3" up three places, "▼ 1" down one, "=" the same. */
  function movement(entry) {
    const moved = entry.movement;
    if (moved === null || moved === undefined) return { text: "", label: "" };
    if (moved > 0) return { text: `▲ ${moved}`, label: `up ${moved} place${moved > 1 ? "s" : ""}`, way: "up" };
    if (moved < 0) return { text: `▼ ${-moved}`, label: `down ${-moved} place${moved < -1 ? "s" : ""}`, way: "down" };
    return { text: "=", label: "same place", way: "same" };
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function bar(text, percent, right) {
    const li = element("li", right ? "bar correct" : "bar", `${right ? "✓ " : ""}${text}`);
    li.style.setProperty("--share", `${percent}%`);
    return li;
  }

  /* A closed question's reveal from its statistics, for the board and the host alike:
     `key` (the accepted answers, or the right order), `bars` (list items: each choice's
     share with the right ones ticked, the typed spellings, each item placed right, or a
     poll's votes) and a one-line `summary`. */
  function revealOf(stats) {
    const count = (part) => `${part.count} (${part.percent}%)`;
    const summary =
      stats.type === "poll"
        ? `${stats.answered} of ${stats.participants} players voted.`
        : `${stats.correct} of ${stats.answered} answers right (${stats.percent_correct}%).`;
    if (stats.type === "type_answer") {
      const rest = stats.other_typed.count
        ? [element("li", "muted", `and ${stats.other_typed.count} more in ${stats.other_typed.distinct} other spellings`)]
        : [];
      return {
        key: `Accepted: ${stats.accepted_answers.join(", ")}`,
        bars: [...stats.typed.map((t) => bar(`${t.text}: ${count(t)}`, t.percent, t.accepted)), ...rest],
        summary,
      };
    }
    if (stats.type === "order") {
      const items = new Map(stats.choices.map((c) => [c.choice_id, c]));
      const right = stats.correct_order.map((id) => items.get(id));
      return {
        key: `The right order: ${right.map((item, i) => `${i + 1}. ${item.text}`).join("  ")}`,
        bars: right.map((item, i) => bar(`${i + 1}. ${item.text}: ${count(item)} in place`, item.percent, true)),
        summary,
      };
    }
    return {
      key: "",
      bars: stats.choices.map((c) => bar(`${c.text}: ${count(c)}`, c.percent, c.correct)),
      summary,
    };
  }

  return { api, stream, serverNow, phaseOf, timeLeft, ordinal, movement, element, revealOf };
})();
