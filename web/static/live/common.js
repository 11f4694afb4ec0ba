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

  function openQuestion(quiz) {
    syncClock(quiz);
    const now = serverNow();
    return (quiz.questions || []).find(
      (q) => q.status === "open" && (!q.closes_at || Date.parse(q.closes_at) > now)
    );
  }

  return { api, stream, openQuestion, serverNow };
})();
