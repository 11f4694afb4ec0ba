"""New Relic: with NEW_RELIC_LICENSE_KEY set, web and worker run under the agent.

The agent runs in developer mode: it talks to a fake collector inside the process, never
the network, and its audit log (NEW_RELIC_AUDIT_LOG) records what it would have sent.
Each process is stopped gracefully, which makes the agent send its last harvest, so the
audit log shows the named transactions: the Flask views and the Celery task.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import join, open_question, submit
from tests.integration.processes import get, start_gunicorn
from tests.integration.support import create_quiz, wait_all_scored
from tests.live_stack import environment, free_port


def agent_env(audit_log: Path) -> dict[str, str]:
    return {
        "NEW_RELIC_LICENSE_KEY": "0" * 40,
        "NEW_RELIC_DEVELOPER_MODE": "true",
        "NEW_RELIC_APP_NAME": "Real-Time Quiz (tests)",
        "NEW_RELIC_AUDIT_LOG": str(audit_log),
        # the first request or task waits for the (fake) connection instead of going unseen
        "NEW_RELIC_STARTUP_TIMEOUT": "10",
    }


def test_the_web_process_reports_its_views_as_named_transactions(settings, tmp_path):
    audit = tmp_path / "web-audit.log"
    port = free_port()
    server = start_gunicorn(
        environment(settings, **agent_env(audit)), tmp_path / "web.log", port, workers=1
    )
    try:
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert get(f"http://127.0.0.1:{port}/api/v1/quizzes/NOPE42")[0] == 404
    finally:
        assert server.stop() == 0

    sent = audit.read_text()
    assert "fake-collector" in sent  # developer mode: nothing left the process
    assert "'connect'" in sent  # the agent initialised and registered the application
    assert "WebTransaction/Function/web.api.health:Healthz" in sent
    assert "WebTransaction/Function/web.api.quizzes:QuizById" in sent


def test_the_worker_reports_its_tasks_as_named_transactions(
    settings, client, engine, start_worker, tmp_path
):
    audit = tmp_path / "worker-audit.log"
    worker = start_worker(concurrency=1, **agent_env(audit))
    code, (question,) = create_quiz(client, [(1000, 30)])
    open_question(client, code, question.question_id)
    ann = join(client, code, "Ann")
    assert submit(client, code, ann, question.question_id, question.right_choice).status_code == 202
    wait_all_scored(engine, 1)
    worker.stop()

    sent = audit.read_text()
    assert "fake-collector" in sent
    assert "OtherTransaction/Celery/quiz.scoring.score_answer" in sent
