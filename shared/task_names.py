"""Stable task and queue names: renaming one strands the messages already queued."""

SCORING_QUEUE = "scoring"

SCORE_ANSWER = "quiz.scoring.score_answer"
REQUEUE_STALE_ANSWERS = "quiz.maintenance.requeue_stale_answers"
RELAY_OUTBOX = "quiz.maintenance.relay_outbox"
FORGET_IDEMPOTENCY_KEYS = "quiz.maintenance.forget_idempotency_keys"
CLOSE_TIMED_OUT_QUESTIONS = "quiz.game.close_timed_out_questions"
RECONCILE_BOARDS = "quiz.maintenance.reconcile_boards"
DELETE_OLD_QUIZZES = "quiz.maintenance.delete_old_quizzes"
PUBLISH_OUTBOX_EVENTS = "quiz.maintenance.publish_outbox_events"
