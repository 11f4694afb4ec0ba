/* The host console: create a quiz, run it question by question, reveal, podium.
   Every action is a call of the public API with the host key (X-Host-Key). */
"use strict";

(() => {
  const KEY = "quiz.hostKey"; // sessionStorage: this tab only, never in a URL
  const $ = (id) => document.getElementById(id);
  const code = document.body.dataset.quiz;
  let quiz = null;
  let timer = null;
  let progressTimer = null;
  let revealed = null; // question id whose statistics are shown
  let podiumShown = false; // the last question's reveal comes before the podium

  const hostKey = () => sessionStorage.getItem(KEY);
  const show = (id, visible) => ($(id).hidden = !visible);

  async function hostCall(method, path, body) {
    try {
      return await Live.api(method, path, { body, headers: { "X-Host-Key": hostKey() } });
    } catch (e) {
      if (e.status === 401 || e.status === 403) {
        sessionStorage.removeItem(KEY);
        askKey("That host key was refused; enter it again.");
      }
      throw e;
    }
  }

  function askKey(message) {
    ["create-panel", "game-panel"].forEach((id) => show(id, false));
    show("key-panel", true);
    $("key-error").textContent = message || "";
    $("host-key").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("host-key").value.trim();
    if (!key) {
      $("key-error").textContent = "Enter the host key.";
      return;
    }
    sessionStorage.setItem(KEY, key);
    $("host-key").value = "";
    show("key-panel", false);
    begin();
  });

  /* --- creating a quiz ------------------------------------------------------------- */

  /* Show the fields of the editor's question type only (`data-types` says whose they are). */
  function showTypeFields(editor) {
    const type = editor.querySelector('select[name="type"]').value;
    for (const part of editor.querySelectorAll(".for-type")) {
      part.hidden = !part.dataset.types.split(" ").includes(type);
    }
  }

  function addQuestion() {
    const editor = $("question-template").content.firstElementChild.cloneNode(true);
    const n = $("questions-editor").children.length + 1;
    editor.querySelector("legend").textContent = `Question ${n}`;
    editor.querySelector('select[name="type"]').addEventListener("change", () => showTypeFields(editor));
    showTypeFields(editor);
    $("questions-editor").appendChild(editor);
  }

  /* One editor as the create body's question of its type (web/api/schemas.py). */
  function questionFromEditor(editor) {
    const field = (name) => editor.querySelector(`[name="${name}"]`);
    const type = field("type").value;
    const question = {
      type,
      text: field("text").value.trim(),
      time_limit_s: Number(field("time_limit_s").value),
    };
    const rows = [...editor.querySelectorAll(".choice-row")]
      .map((row) => ({ text: row.querySelector('input[name="choice"]').value.trim(), right: row.querySelector('input[name="right"]').checked }))
      .filter((choice) => choice.text);
    if (type === "single" || type === "multi") {
      question.choices = rows.map((c) => ({ text: c.text, correct: c.right }));
    } else if (type === "order" || type === "poll") {
      question.choices = rows.map((c) => ({ text: c.text }));
    }
    if (type === "multi") question.partial = field("partial").checked;
    if (type === "true_false") question.correct = field("statement").value === "true";
    if (type === "type_answer") {
      question.accepted_answers = field("accepted").value.split("\n").map((a) => a.trim()).filter(Boolean);
      question.max_typos = Number(field("max_typos").value);
      question.ignore_accents = field("ignore_accents").checked;
      question.ignore_trailing_period = field("ignore_trailing_period").checked;
    }
    return question;
  }

  function quizFromForm() {
    const pasted = $("quiz-json").value.trim();
    if (pasted) return JSON.parse(pasted);
    const questions = [...$("questions-editor").children].map(questionFromEditor);
    return { title: $("quiz-title-input").value.trim(), questions };
  }

  $("add-question").addEventListener("click", addQuestion);
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("create-error").textContent = "";
    let body;
    try {
      body = quizFromForm();
    } catch (_) {
      $("create-error").textContent = "The pasted quiz is not valid JSON.";
      return;
    }
    try {
      const created = await hostCall("POST", "/quizzes", body);
      window.location.assign(`/host/${encodeURIComponent(created.quiz_id)}`);
    } catch (e) {
      if (e.status !== 401 && e.status !== 403) $("create-error").textContent = e.message;
    }
  });

  /* --- running a quiz ---------------------------------------------------------------- */

  function phaseOf(current) {
    const phase = Live.phaseOf(current);
    if (phase.name !== "finished") return phase;
    // the last question's reveal comes first, then the podium
    return phase.question && !podiumShown ? { name: "reveal", question: phase.question } : { name: "podium" };
  }

  function render(current) {
    quiz = current;
    $("game-title").textContent = current.title;
    const phase = phaseOf(current);
    ["lobby", "question", "reveal", "podium"].forEach((id) => show(id, id === phase.name));
    clearInterval(timer);
    clearInterval(progressTimer);
    if (phase.name === "question") showQuestion(phase.question);
    if (phase.name === "reveal") showReveal(phase.question);
    if (phase.name === "podium") showPodium();
  }

  function heading(question) {
    return `Question ${question.position} of ${quiz.questions.length}`;
  }

  function showQuestion(question) {
    $("question-title").textContent = heading(question);
    $("question-text").textContent = question.text;
    const tick = () => {
      const left = Live.timeLeft(question).seconds;
      $("countdown").textContent = left > 0 ? `${left} s left` : "Time is up.";
    };
    const count = () =>
      hostCall("GET", `/quizzes/${code}/questions/${question.question_id}/progress`)
        .then((p) => ($("answered").textContent = `${p.answered} of ${p.participants} answered`))
        .catch(() => {});
    tick();
    count();
    timer = setInterval(tick, 250);
    progressTimer = setInterval(count, 1000);
    $("close-early").onclick = () =>
      act(() => hostCall("POST", `/quizzes/${code}/questions/${question.question_id}/close`));
  }

  async function showReveal(question) {
    $("reveal-title").textContent = `${heading(question)}: the answers`;
    $("reveal-text").textContent = question.text;
    const more = quiz.status !== "finished" && quiz.questions.some((q) => q.status === "pending");
    $("next").textContent = more ? "Next question" : "Show the podium";
    $("finish").hidden = quiz.status === "finished";
    if (revealed === question.question_id) return;
    revealed = question.question_id;
    const list = $("distribution");
    list.replaceChildren();
    $("reveal-key").textContent = "";
    $("reveal-summary").textContent = "";
    try {
      const stats = await Live.api("GET", `/quizzes/${code}/questions/${question.question_id}/stats`);
      const reveal = Live.revealOf(stats);
      $("reveal-key").textContent = reveal.key;
      list.replaceChildren(...reveal.bars);
      const fastest = stats.fastest_correct
        ? ` Fastest right answer: ${stats.fastest_correct.display_name} ` +
          `(${(stats.fastest_correct.response_ms / 1000).toFixed(1)} s).`
        : "";
      $("reveal-summary").textContent = `${reveal.summary}${fastest}`;
    } catch (e) {
      $("reveal-summary").textContent = e.message;
      revealed = null;
    }
  }

  /* The final standings as the board shows them: from PostgreSQL after the last question
     closed, with each player's right answers (the live board if none closed). */
  async function showPodium() {
    const closed = Live.phaseOf(quiz).closed;
    const query = closed ? `after_question=${closed}&limit=10` : "limit=10";
    const board = await Live.api("GET", `/quizzes/${code}/leaderboard?${query}`);
    $("podium-list").replaceChildren(
      ...board.entries.map((entry) => {
        const li = Live.element("li", entry.rank <= 3 ? `place place-${entry.rank}` : "place");
        const right = entry.correct_answers === undefined ? "" : ` (${entry.correct_answers} right)`;
        li.textContent = `${entry.rank}. ${entry.display_name}: ${entry.score}${right}`;
        return li;
      })
    );
  }

  function showPlayers(board) {
    $("player-count").textContent = String(board.total_participants);
    $("players").replaceChildren(
      ...board.entries.map((entry) => {
        const li = document.createElement("li");
        li.textContent = entry.display_name;
        return li;
      })
    );
  }

  async function act(call) {
    $("game-error").textContent = "";
    document.querySelectorAll("#game-panel button").forEach((b) => (b.disabled = true));
    try {
      const answer = await call();
      // next and finish answer with the quiz; closing a question, with the question
      if (answer && answer.questions) render(answer);
      else refresh();
    } catch (e) {
      if (e.status !== 401 && e.status !== 403) $("game-error").textContent = e.message;
      // the state may have moved anyway (a lost response): read it again
      refresh();
    } finally {
      document.querySelectorAll("#game-panel button").forEach((b) => (b.disabled = false));
    }
  }

  function refresh() {
    Live.api("GET", `/quizzes/${code}`).then(render).catch((e) => ($("game-error").textContent = e.message));
  }

  $("start").addEventListener("click", () => act(() => hostCall("POST", `/quizzes/${code}/next`)));
  $("next").addEventListener("click", () => {
    if (quiz.status === "finished") {
      podiumShown = true;
      render(quiz);
    } else {
      act(() => hostCall("POST", `/quizzes/${code}/next`));
    }
  });
  $("finish").addEventListener("click", () => {
    podiumShown = true;
    act(() => hostCall("POST", `/quizzes/${code}/finish`));
  });

  /* The export needs the host key in a header, so it is fetched, then saved from memory. */
  async function download(kind) {
    $("game-error").textContent = "";
    try {
      const response = await fetch(`/api/v1/quizzes/${code}/export.${kind}`, {
        headers: { "X-Host-Key": hostKey() },
      });
      if (!response.ok) throw new Error((await response.json()).message);
      const link = Live.element("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = `quiz-${code}-results.${kind}`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    } catch (e) {
      $("game-error").textContent = `The export failed: ${e.message}`;
    }
  }

  $("export-csv").addEventListener("click", () => download("csv"));
  $("export-json").addEventListener("click", () => download("json"));

  function runQuiz() {
    show("game-panel", true);
    $("join-code").textContent = code;
    $("play-url").textContent = `${window.location.host}/play?code=${code}`;
    $("board-link").href = `/quizzes/${code}/board`;
    $("final-board").href = `/quizzes/${code}/board`;
    refresh();
    Live.stream(code, {
      limit: 100,
      onBoard: showPlayers,
      onQuiz: render,
      onState: (state) => {
        $("host-status").textContent = state === "live" ? "Live" : "Connection lost, reconnecting…";
        if (state === "live") refresh();
      },
    });
  }

  function begin() {
    if (!hostKey()) return askKey();
    if (code) return runQuiz();
    show("create-panel", true);
    if (!$("questions-editor").children.length) addQuestion();
    $("quiz-title-input").focus();
  }

  begin();
})();
