/* The player page. Join by code and name, then follow the game: wait in the lobby, answer
   with a countdown, "answer received", the result at the reveal (right or wrong, points,
   streak), the rank between questions and the final rank. The token is kept in
   sessionStorage, so a reload or a dropped connection comes back to the same game. */
"use strict";

(() => {
  const STORE = "quiz.player";
  const $ = (id) => document.getElementById(id);
  let player = JSON.parse(sessionStorage.getItem(STORE) || "null");
  let source = null;
  let phase = null;
  let questionId = null; // the question whose choices are shown
  let timer = null;
  let mine = null; // this player's row of the live board
  let total = null;
  let resultFor = null; // the question whose result is shown (or being read)
  let standingShown = false;

  const save = () => sessionStorage.setItem(STORE, JSON.stringify(player));
  const say = (text) => ($("answer-status").textContent = text);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const playerPath = () => `/quizzes/${encodeURIComponent(player.code)}`;
  const asPlayer = () => ({ Authorization: `Bearer ${player.token}` });

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
    resultFor = null;
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
        if (board.me) mine = board.me;
        showStanding();
      },
      onQuiz: showQuiz,
      onState: (state) => {
        $("play-status").textContent = state === "live" ? "" : "Connection lost, reconnecting…";
        if (state === "live") refreshQuiz(); // phase changes missed while away
      },
    });
  }

  function refreshQuiz() {
    Live.api("GET", playerPath())
      .then(showQuiz)
      .catch((e) => ($("play-status").textContent = e.message));
  }

  /* Score and rank from the live board; held while a question is open, so a phone does not
     tell its neighbour whether an answer was right before the reveal. */
  function showStanding() {
    if (!mine || !phase || phase.name === "question") return;
    standingShown = true;
    $("my-score").textContent = String(mine.score);
    $("my-rank").textContent = total ? `${mine.rank} of ${total}` : String(mine.rank);
    if (phase && phase.name === "finished") {
      $("final-standing").textContent =
        `You finished ${Live.ordinal(mine.rank)} of ${total} with ${mine.score} points.`;
    } else if (phase && phase.name === "reveal") {
      $("final-standing").textContent = `You are ${Live.ordinal(mine.rank)} of ${total}.`;
    }
  }

  function showQuiz(quiz) {
    $("quiz-title").textContent = quiz.title;
    phase = Live.phaseOf(quiz);
    if (phase.name === "question") {
      showQuestion(phase.question);
      return;
    }
    clearInterval(timer);
    questionId = null;
    $("question-timer").textContent = "";
    $("choices").replaceChildren();
    $("final-standing").textContent = "";
    $("next-hint").textContent = "";
    const heading = $("question-heading");
    if (phase.name === "lobby") {
      heading.textContent = "You are in! Waiting for the game to start…";
      say("");
    } else if (phase.name === "reveal") {
      heading.textContent = `Question ${phase.question.position}: the answer`;
      $("next-hint").textContent = "Waiting for the next question…";
      showResult(phase.question);
    } else {
      heading.textContent = "The quiz has finished. Thanks for playing!";
      if (phase.question) showResult(phase.question);
      else say("");
    }
    showStanding();
  }

  function showQuestion(question) {
    if (question.question_id === questionId) return;
    questionId = question.question_id;
    resultFor = null;
    $("final-standing").textContent = "";
    $("next-hint").textContent = "";
    $("answer-status").dataset.outcome = "";
    const heading = $("question-heading");
    heading.textContent = `Question ${question.position}: ${question.text}`;
    $("choices").dataset.type = question.type || "single";
    $("choices").replaceChildren(...controlsFor(question));
    const answered = player.answered[question.question_id];
    if (answered !== undefined) {
      lock(asResponse(answered));
      say("Answer received. The result comes when the question closes.");
    } else {
      say(HINTS[question.type] || "");
    }
    heading.focus();
    countdown(question);
    if (!standingShown) showScoreBefore(question); // a reload in the middle of a question
  }

  const HINTS = {
    multi: "Tap every answer that applies, then send.",
    order: "Tap the items in order, first to last, then send.",
    type_answer: "Type your answer and press Go.",
    poll: "There is no wrong answer: tap your choice.",
  };

  // an answer kept by an older page was a choice id
  const asResponse = (kept) => (typeof kept === "number" ? { choice_id: kept } : kept);

  /* The controls of a question's type: a button per choice (single, true/false, poll),
     buttons to tick and a send button (multi), items to tap in order (order), or a text
     field whose keyboard says "Go" (type_answer). */
  function controlsFor(question) {
    const type = question.type || "single";
    if (type === "type_answer") return [typedAnswer(question)];
    if (type === "multi") return pickSeveral(question);
    if (type === "order") return putInOrder(question);
    return question.choices.map((choice) =>
      choiceButton(choice, () => answer(question, { choice_id: choice.choice_id }))
    );
  }

  function choiceButton(choice, onClick) {
    const button = Live.element("button", "choice", choice.text);
    button.type = "button";
    button.dataset.choiceId = String(choice.choice_id);
    button.addEventListener("click", onClick);
    return button;
  }

  function sendButton(text) {
    const button = Live.element("button", "send", text);
    button.type = "button";
    button.disabled = true;
    return button;
  }

  function pickSeveral(question) {
    const picked = new Set();
    const send = sendButton("Send my answer");
    const buttons = question.choices.map((choice) => {
      const button = choiceButton(choice, () => {
        if (picked.has(choice.choice_id)) picked.delete(choice.choice_id);
        else picked.add(choice.choice_id);
        button.setAttribute("aria-pressed", String(picked.has(choice.choice_id)));
        send.disabled = picked.size === 0;
      });
      button.setAttribute("aria-pressed", "false");
      return button;
    });
    send.addEventListener("click", () => answer(question, { choice_ids: [...picked] }));
    return [...buttons, send];
  }

  function putInOrder(question) {
    const order = [];
    const chosen = Live.element("ol", "chosen-order");
    chosen.setAttribute("aria-label", "Your order");
    const send = sendButton("Send this order");
    const reset = Live.element("button", "secondary reset", "Start again");
    reset.type = "button";
    const buttons = question.choices.map((choice) => {
      const button = choiceButton(choice, () => {
        if (order.includes(choice.choice_id)) return;
        order.push(choice.choice_id);
        button.disabled = true;
        button.dataset.place = String(order.length);
        chosen.append(Live.element("li", "", choice.text));
        send.disabled = order.length !== question.choices.length;
      });
      return button;
    });
    reset.addEventListener("click", () => {
      order.length = 0;
      chosen.replaceChildren();
      send.disabled = true;
      for (const button of buttons) {
        button.disabled = false;
        delete button.dataset.place;
      }
    });
    send.addEventListener("click", () => answer(question, { choice_ids: [...order] }));
    return [...buttons, chosen, reset, send];
  }

  function typedAnswer(question) {
    const form = Live.element("form", "typed-answer");
    form.noValidate = true;
    const label = Live.element("label", "", "Your answer");
    label.htmlFor = "typed-text";
    const input = Live.element("input");
    Object.assign(input, {
      id: "typed-text",
      type: "text",
      maxLength: 100,
      autocomplete: "off",
      spellcheck: false,
      enterKeyHint: "go",
    });
    input.setAttribute("autocapitalize", "none");
    const send = Live.element("button", "send", "Go");
    send.type = "submit";
    form.append(label, input, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) {
        say("Type an answer first.");
        input.focus();
        return;
      }
      answer(question, { text });
    });
    return form;
  }

  /* The score as it stood when this question opened: the points of the questions closed. */
  async function showScoreBefore(question) {
    try {
      const results = await myResults();
      if (questionId !== question.question_id || standingShown) return;
      const points = results.results.filter((r) => r.closed).reduce((sum, r) => sum + (r.points || 0), 0);
      $("my-score").textContent = String(points);
    } catch (_) {
      // the score shows at the reveal
    }
  }

  const myResults = () => Live.api("GET", `${playerPath()}/participants/me`, { headers: asPlayer() });

  function countdown(question) {
    clearInterval(timer);
    const tick = () => {
      const left = Live.timeLeft(question).seconds;
      if (left === null) return;
      $("question-timer").textContent = left > 0 ? `${left} s left` : "Time is up.";
      if (left === 0) {
        clearInterval(timer);
        lock(null);
      }
    };
    tick();
    timer = setInterval(tick, 500);
  }

  /* Freeze the controls on the answer sent (`null`: time is up, nothing was sent). */
  function lock(response) {
    const picked = new Set(response ? response.choice_ids || [response.choice_id] : []);
    for (const control of $("choices").querySelectorAll("button, input")) {
      control.disabled = true;
      if (control.dataset.choiceId && picked.has(Number(control.dataset.choiceId))) {
        control.setAttribute("aria-pressed", "true");
      }
    }
    const input = $("typed-text");
    if (input && response && response.text !== undefined) input.value = response.text;
  }

  function unlock() {
    for (const control of $("choices").querySelectorAll("button, input")) {
      if (!control.dataset.place) control.disabled = false;
    }
  }

  async function answer(question, response) {
    lock(response);
    say("Sending your answer…");
    try {
      await Live.api("POST", `${playerPath()}/answers`, {
        body: Object.assign({ question_id: question.question_id }, response),
        headers: Object.assign(asPlayer(), {
          // a retried click is the same answer, never a second one
          "Idempotency-Key": `question-${question.question_id}`,
        }),
      });
      player.answered[question.question_id] = response;
      save();
      say("Answer received. The result comes when the question closes.");
    } catch (e) {
      if (e.status === 409) {
        say("Too late: this question is closed or already answered.");
      } else if (e.status === 401 || e.status === 403) {
        say(`${e.message}. Leave and join again.`);
      } else {
        say(`Could not send the answer (${e.message}). Try again.`);
        unlock();
      }
    }
  }

  function resultText(question, result) {
    const poll = question.type === "poll";
    if (!result || !result.answered) return poll ? "You did not vote this time." : "No answer this time: 0 points.";
    if (result.state === "rejected") return "Your answer was not counted.";
    if (poll) return "Thanks for voting! Polls earn no points and keep your streak.";
    const typed = result.text ? `You typed “${result.text}”. ` : "";
    if (typed && !result.correct) return `${typed}Not accepted this time: 0 points.`;
    if (result.correct) {
      const streak = result.streak > 1 ? ` Streak of ${result.streak} (+${result.streak_bonus} bonus).` : "";
      return `${typed}Correct! +${result.points} points.${streak}`;
    }
    if (result.points > 0) return `Partly right: +${result.points} points.`;
    return "Not this time: 0 points.";
  }

  function outcomeOf(question, result) {
    if (question.type === "poll") return "poll";
    if (result && result.correct) return "right";
    return result && result.points > 0 ? "partly" : "wrong";
  }

  /* The result of a closed question, from the player's own results: scoring may finish a
     moment after the close, so a result still being scored is read again. */
  async function showResult(question) {
    if (resultFor === question.question_id) return;
    resultFor = question.question_id;
    say("Checking your answer…");
    for (let attempt = 0; attempt < 30 && resultFor === question.question_id; attempt += 1) {
      let results;
      try {
        results = await myResults();
      } catch (e) {
        if (e.status === 401 || e.status === 403) {
          say(`${e.message}. Leave and join again.`);
          return;
        }
        await sleep(1000);
        continue;
      }
      const result = results.results.find((r) => r.question_id === question.question_id);
      if (result && result.answered && result.state === "accepted") {
        await sleep(1000); // still being scored
        continue;
      }
      if (resultFor !== question.question_id) return;
      say(resultText(question, result));
      $("answer-status").dataset.outcome = outcomeOf(question, result);
      $("my-score").textContent = String(results.score);
      return;
    }
  }

  if (player) start();
})();
