/* The big-screen board: renders the stream's snapshots and animates rank changes (FLIP). */
"use strict";

(() => {
  const code = document.body.dataset.quiz;
  const list = document.getElementById("board");
  const empty = document.getElementById("empty");
  const status = document.getElementById("board-status");
  const participants = document.getElementById("participants");
  const rows = new Map(); // participant_id -> <li>
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let version = -1;

  document.getElementById("play-url").textContent = `${window.location.host}/play`;

  function row(entry) {
    const li = document.createElement("li");
    li.className = "entry entering";
    li.dataset.participantId = String(entry.participant_id);
    li.innerHTML =
      '<span class="rank"></span><span class="name"></span><span class="score"></span>';
    return li;
  }

  function render(board) {
    if (board.version < version) return; // an older snapshot arriving late
    version = board.version;
    const before = new Map();
    rows.forEach((li, id) => before.set(id, li.getBoundingClientRect().top));
    const seen = new Set();
    for (const entry of board.entries) {
      let li = rows.get(entry.participant_id);
      if (!li) {
        li = row(entry);
        rows.set(entry.participant_id, li);
      }
      const score = li.querySelector(".score");
      if (score.textContent !== "" && score.textContent !== String(entry.score)) {
        li.classList.remove("bumped");
        void li.offsetWidth; // restart the highlight
        li.classList.add("bumped");
      }
      li.querySelector(".rank").textContent = String(entry.rank);
      li.querySelector(".name").textContent = entry.display_name;
      score.textContent = String(entry.score);
      li.setAttribute(
        "aria-label",
        `Rank ${entry.rank}: ${entry.display_name}, ${entry.score} points`
      );
      list.appendChild(li); // in board order
      seen.add(entry.participant_id);
    }
    rows.forEach((li, id) => {
      if (!seen.has(id)) {
        li.remove();
        rows.delete(id);
      }
    });
    empty.hidden = board.entries.length > 0;
    participants.textContent = `(${board.total_participants} playing)`;
    if (reduceMotion) return;
    rows.forEach((li, id) => {
      const top = before.get(id);
      if (top === undefined) return;
      const delta = top - li.getBoundingClientRect().top;
      if (delta) {
        li.animate([{ transform: `translateY(${delta}px)` }, { transform: "none" }], {
          duration: 600,
          easing: "cubic-bezier(.2,.8,.2,1)",
        });
      }
    });
  }

  function showQuestion(quiz) {
    document.getElementById("quiz-title").textContent = quiz.title;
    const question = Live.openQuestion(quiz);
    const panel = document.getElementById("question-panel");
    panel.hidden = !question;
    if (question) {
      document.getElementById("question-heading").textContent =
        `Question ${question.position} of ${quiz.questions.length}`;
      document.getElementById("question-text").textContent = question.text;
    }
  }

  Live.api("GET", `/quizzes/${encodeURIComponent(code)}`)
    .then(showQuestion)
    .catch((error) => {
      status.textContent = `Quiz ${code}: ${error.message}`;
    });

  Live.stream(code, {
    limit: 10,
    onBoard: render,
    onQuiz: showQuestion,
    onState: (state) => {
      status.textContent = state === "live" ? "Live" : "Connection lost, reconnecting…";
    },
  });
})();
