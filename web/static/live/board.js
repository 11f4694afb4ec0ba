/* The big-screen board. It follows the game from the live stream: the lobby (QR code and
   the players arriving), each question (countdown bar on the server's clock, answers
   received, the live top players), the reveal (the distribution, then the leaderboard
   with rank movements) and the podium. Everything is read from the public API. */
"use strict";

(() => {
  const code = document.body.dataset.quiz;
  const $ = (id) => document.getElementById(id);
  const el = Live.element;
  const PHASES = ["lobby", "question", "reveal", "podium"];
  const TOP = 10;
  // a game that ends on screen shows its last reveal this long before the podium
  const REVEAL_BEFORE_PODIUM_MS = 8000;
  const rows = new Map(); // participant_id -> <li> of the live board
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let version = -1;
  let quiz = null;
  let drawn = null; // the phase and question the panels show
  let lastBoard = null;
  let ticker = null;
  let counter = null;
  let standingsDue = null;
  let podiumDue = null;
  let podiumReady = false;

  const quizPath = `/quizzes/${encodeURIComponent(code)}`;

  /* --- the live board (every phase but the lobby and the podium) ------------------- */

  function liveRow(entry) {
    const li = el("li", "entry entering");
    li.dataset.participantId = String(entry.participant_id);
    li.append(el("span", "rank"), el("span", "name"), el("span", "score"));
    return li;
  }

  function renderLive(board) {
    const list = $("board");
    const before = new Map();
    rows.forEach((li, id) => before.set(id, li.getBoundingClientRect().top));
    const seen = new Set();
    for (const entry of board.entries.slice(0, TOP)) {
      let li = rows.get(entry.participant_id);
      if (!li) {
        li = liveRow(entry);
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
      li.setAttribute("aria-label", `Rank ${entry.rank}: ${entry.display_name}, ${entry.score} points`);
      list.appendChild(li); // in board order
      seen.add(entry.participant_id);
    }
    rows.forEach((li, id) => {
      if (!seen.has(id)) {
        li.remove();
        rows.delete(id);
      }
    });
    $("empty").hidden = board.entries.length > 0;
    $("participants").textContent = `(${board.total_participants} playing)`;
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

  function renderLobby(board) {
    $("lobby-count").textContent = String(board.total_participants);
    $("lobby-players").replaceChildren(...board.entries.map((e) => el("li", "", e.display_name)));
    $("lobby-waiting").hidden = board.total_participants > 0;
  }

  function onBoard(board) {
    if (board.version < version) return; // an older snapshot arriving late
    version = board.version;
    lastBoard = board;
    renderLive(board);
    renderLobby(board);
    // scores still coming in after a close: read the standings again, at most twice a second
    if (drawn && (drawn.name === "reveal" || drawn.name === "podium")) {
      clearTimeout(standingsDue);
      standingsDue = setTimeout(() => loadStandings(drawn), 500);
    }
  }

  /* --- the phases ------------------------------------------------------------------ */

  function heading(question) {
    return `Question ${question.position} of ${quiz.questions.length}`;
  }

  function showQuestion(question) {
    $("question-heading").textContent = heading(question);
    $("question-text").textContent = question.text;
    $("question-kind").textContent = KINDS[question.type] || "";
    $("question-choices").replaceChildren(
      ...question.choices.map((choice, i) => el("li", `tile tile-${i % 4}`, choice.text))
    );
    const bar = $("countdown-bar");
    bar.setAttribute("aria-valuemax", String(question.time_limit_s));
    const tick = () => {
      const left = Live.timeLeft(question);
      bar.firstElementChild.style.width = `${(left.share * 100).toFixed(1)}%`;
      bar.setAttribute("aria-valuenow", String(left.seconds ?? question.time_limit_s));
      $("countdown").textContent = left.seconds === null ? "" : left.seconds > 0 ? `${left.seconds} s` : "Time's up!";
    };
    const count = () =>
      Live.api("GET", `${quizPath}/questions/${question.question_id}/progress`)
        .then((p) => ($("answers-received").textContent = `${p.answered} of ${p.participants} answered`))
        .catch(() => {});
    tick();
    count();
    ticker = setInterval(tick, 250);
    counter = setInterval(count, 1000);
  }

  // what players do, shown under the question (single choice needs no words)
  const KINDS = {
    true_false: "True or false?",
    multi: "Pick every answer that applies.",
    type_answer: "Type the answer on your phone.",
    order: "Put these in order on your phone.",
    poll: "Poll: no wrong answer.",
  };

  async function showReveal(question) {
    $("reveal-heading").textContent = `${heading(question)}: the answers`;
    $("reveal-text").textContent = question.text;
    $("reveal-key").textContent = "";
    $("reveal-distribution").replaceChildren();
    $("reveal-summary").textContent = "";
    try {
      const stats = await Live.api("GET", `${quizPath}/questions/${question.question_id}/stats`);
      const reveal = Live.revealOf(stats);
      $("reveal-key").textContent = reveal.key;
      $("reveal-distribution").replaceChildren(...reveal.bars);
      $("reveal-summary").textContent = reveal.summary;
    } catch (e) {
      $("reveal-summary").textContent = e.message;
    }
  }

  function standingRow(entry) {
    const li = el("li", "entry");
    li.dataset.participantId = String(entry.participant_id);
    const moved = Live.movement(entry);
    const arrow = el("span", `movement ${moved.way || ""}`, moved.text);
    if (moved.label) arrow.setAttribute("aria-label", moved.label);
    li.append(el("span", "rank", String(entry.rank)), el("span", "name", entry.display_name), arrow,
      el("span", "score", String(entry.score)));
    return li;
  }

  async function loadStandings(phase) {
    if (!phase.closed) return;
    let board;
    try {
      board = await Live.api("GET", `${quizPath}/leaderboard?after_question=${phase.closed}&limit=${TOP}`);
    } catch (e) {
      $("board-status").textContent = e.message;
      return;
    }
    if (drawn !== phase) return; // the game moved on meanwhile
    if (phase.name === "reveal") {
      $("standings-heading").textContent = `Leaderboard after question ${board.after_question}`;
      $("standings").replaceChildren(...board.entries.map(standingRow));
      return;
    }
    const top = board.entries.slice(0, 3);
    $("podium-steps").replaceChildren(
      ...top.map((entry) => {
        const li = el("li", `step step-${entry.rank <= 3 ? entry.rank : 3}`);
        li.append(el("span", "place", Live.ordinal(entry.rank)), el("span", "name", entry.display_name),
          el("span", "score", `${entry.score} points`));
        return li;
      })
    );
    $("final-table").tBodies[0].replaceChildren(
      ...board.entries.map((entry) => {
        const tr = el("tr", entry.rank <= 3 ? "on-podium" : "");
        for (const value of [entry.rank, entry.display_name, entry.score, entry.correct_answers]) {
          tr.appendChild(el("td", "", String(value)));
        }
        return tr;
      })
    );
  }

  function panelOf(phase) {
    if (phase.name !== "finished") return phase.name;
    if (podiumReady || !phase.question || !drawn || drawn.name === "podium") return "podium";
    // the game ended while this screen watched it: the last question's reveal first
    if (!podiumDue) {
      podiumDue = setTimeout(() => {
        podiumReady = true;
        render(quiz);
      }, REVEAL_BEFORE_PODIUM_MS);
    }
    return "reveal";
  }

  function render(current) {
    quiz = current;
    $("quiz-title").textContent = current.title;
    const phase = Live.phaseOf(current);
    const name = panelOf(phase);
    const same =
      drawn && drawn.name === name && drawn.closed === phase.closed &&
      (drawn.question && drawn.question.question_id) === (phase.question && phase.question.question_id);
    if (same && name !== "question") return;
    clearInterval(ticker);
    clearInterval(counter);
    PHASES.forEach((id) => ($(id).hidden = id !== name));
    // the live top players under each question and after a quiz that closed none
    $("live-board").hidden = !(name === "question" || (name === "podium" && !phase.closed));
    drawn = Object.assign({}, phase, { name });
    if (name === "question") showQuestion(phase.question);
    if (name === "reveal") showReveal(phase.question);
    if (name === "reveal" || name === "podium") loadStandings(drawn);
    if (name === "podium" && !phase.closed) $("podium-heading").textContent = "The quiz has ended";
    if (lastBoard) renderLobby(lastBoard);
  }

  function refresh() {
    Live.api("GET", quizPath)
      .then(render)
      .catch((error) => ($("board-status").textContent = `Quiz ${code}: ${error.message}`));
  }

  refresh();
  Live.stream(code, {
    limit: 100,
    onBoard,
    onQuiz: render,
    onState: (state) => {
      $("board-status").textContent = state === "live" ? "Live" : "Connection lost, reconnecting…";
      if (state === "live") refresh();
    },
  });
})();
