/* The player page: join by code and name, answer the open question, see score and rank. */
"use strict";

(() => {
  const STORE = "quiz.player";
  const $ = (id) => document.getElementById(id);
  let player = JSON.parse(sessionStorage.getItem(STORE) || "null");
  let source = null;
  let questionId = null;
  let timer = null;
  let total = null;

  const save = () => sessionStorage.setItem(STORE, JSON.stringify(player));
  const say = (text) => ($("answer-status").textContent = text);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const fromUrl = new URLSearchParams(window.location.search).get("code");
  if (fromUrl) $("code").value = fromUrl.toUpperCase();

  $("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("code").value.trim().toUpperCase();
    const name = $("name").value.trim();
    const error = $("join-error");
    error.textContent = "";
    if (!code || !name) {
      error.textContent = "Enter the quiz code and your name.";
      (code ? $("name") : $("code")).focus();
      return;
    }
    const button = event.submitter || $("join-form").querySelector("button");
    button.disabled = true;
    try {
      const joined = await Live.api("POST", `/quizzes/${encodeURIComponent(code)}/participants`, {
        body: { display_name: name },
      });
      player = {
        code,
        participant_id: joined.participant_id,
        name: joined.display_name,
        token: joined.token,
        answered: {},
      };
      save();
      start();
    } catch (e) {
      error.textContent = e.status === 404 ? `No quiz has the code ${code}.` : e.message;
    } finally {
      button.disabled = false;
    }
  });

  $("leave").addEventListener("click", () => {
    if (source) source.close();
    sessionStorage.removeItem(STORE);
    player = null;
    questionId = null;
    $("game-panel").hidden = true;
    $("join-panel").hidden = false;
    $("code").focus();
  });

  function start() {
    $("join-panel").hidden = true;
    $("game-panel").hidden = false;
    $("player-name").textContent = player.name;
    refreshQuiz();
    source = Live.stream(player.code, {
      limit: 1,
      participantId: player.participant_id,
      onBoard: (board) => {
        total = board.total_participants;
        if (board.me) showStanding(board.me.score, board.me.rank);
      },
      onQuiz: showQuiz,
      onState: (state) => {
        $("play-status").textContent = state === "live" ? "" : "Connection lost, reconnecting…";
        if (state === "live") refreshQuiz(); // question changes missed while away
      },
    });
  }

  function refreshQuiz() {
    Live.api("GET", `/quizzes/${encodeURIComponent(player.code)}`)
      .then(showQuiz)
      .catch((e) => ($("play-status").textContent = e.message));
  }

  function showStanding(score, rank) {
    $("my-score").textContent = String(score);
    if (rank !== undefined) $("my-rank").textContent = total ? `${rank} of ${total}` : String(rank);
  }

  function showQuiz(quiz) {
    $("quiz-title").textContent = quiz.title;
    const question = Live.openQuestion(quiz);
    const heading = $("question-heading");
    const choices = $("choices");
    if (!question) {
      if (questionId !== null) say("");
      questionId = null;
      clearInterval(timer);
      heading.textContent =
        quiz.status === "finished" ? "The quiz has finished. Thanks for playing!" : "Waiting for the next question…";
      $("question-timer").textContent = "";
      choices.replaceChildren();
      return;
    }
    if (question.question_id === questionId) return;
    questionId = question.question_id;
    heading.textContent = `Question ${question.position}: ${question.text}`;
    choices.replaceChildren(
      ...question.choices.map((choice) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice.text;
        button.dataset.choiceId = String(choice.choice_id);
        button.addEventListener("click", () => answer(question, choice, button));
        return button;
      })
    );
    const answered = player.answered[question.question_id];
    if (answered) {
      lock(answered);
      say("Your answer is in.");
    } else {
      say("");
    }
    heading.focus();
    countdown(question);
  }

  function countdown(question) {
    clearInterval(timer);
    const ends = question.closes_at ? Date.parse(question.closes_at) : null;
    const tick = () => {
      if (ends === null) return;
      const left = Math.max(0, Math.ceil((ends - Live.serverNow()) / 1000));
      $("question-timer").textContent = left > 0 ? `${left} s left` : "Time is up.";
      if (left === 0) {
        clearInterval(timer);
        lock(null);
      }
    };
    tick();
    timer = setInterval(tick, 500);
  }

  function lock(chosenId) {
    for (const button of $("choices").querySelectorAll("button")) {
      button.disabled = true;
      if (chosenId !== null && button.dataset.choiceId === String(chosenId)) {
        button.setAttribute("aria-pressed", "true");
      }
    }
  }

  async function answer(question, choice, button) {
    lock(choice.choice_id);
    say("Sending your answer…");
    try {
      const accepted = await Live.api("POST", `/quizzes/${encodeURIComponent(player.code)}/answers`, {
        body: { question_id: question.question_id, choice_id: choice.choice_id },
        headers: {
          Authorization: `Bearer ${player.token}`,
          // a retried click is the same answer, never a second one
          "Idempotency-Key": `question-${question.question_id}`,
        },
      });
      player.answered[question.question_id] = choice.choice_id;
      save();
      say("Answer sent. Scoring…");
      const task = await poll(accepted.status_url);
      if (task.state === "SUCCESS") {
        const result = task.result;
        say(result.correct ? `Correct! +${result.points} points.` : "Not this time.");
        showStanding(result.total_score);
      } else if (task.state === "FAILURE") {
        say(`Your answer could not be scored: ${task.error.message}`);
      } else {
        say("Your answer is in; the score will show here.");
      }
    } catch (e) {
      if (e.status === 409) {
        say("Too late: this question is closed or already answered.");
      } else if (e.status === 401 || e.status === 403) {
        say("Your session has expired: leave and join again.");
      } else {
        say(`Could not send the answer (${e.message}). Try again.`);
        for (const b of $("choices").querySelectorAll("button")) b.disabled = false;
        button.removeAttribute("aria-pressed");
      }
    }
  }

  /* Poll the scoring task, waiting as long as its Retry-After says, for up to 30 s. */
  async function poll(url) {
    const deadline = Date.now() + 30000;
    let task = { state: "PENDING" };
    while (Date.now() < deadline) {
      const response = await fetch(url);
      task = await response.json();
      if (task.state === "SUCCESS" || task.state === "FAILURE") return task;
      const wait = Number(response.headers.get("Retry-After") || "1");
      await sleep(Math.min(Math.max(wait, 0.2), 5) * 1000);
    }
    return task;
  }

  if (player) start();
})();
