"""The Celery app for the `celery -A worker` command line: a shim, settings from the environment."""

from shared.celery import make_celery
from shared.config import Settings

settings = Settings.from_env()
app = make_celery(settings)

# importing the task modules registers their tasks with the app; worker.observability
# connects JSON logs, Sentry, New Relic and request ids to Celery's signals
import worker.observability  # noqa: E402,F401
import worker.tasks.game  # noqa: E402,F401
import worker.tasks.maintenance  # noqa: E402,F401
import worker.tasks.scoring  # noqa: E402,F401

# the batch size is a setting: the task class only has celery-batches' defaults
worker.tasks.scoring.score_answer.flush_every = settings.scoring_batch_size
worker.tasks.scoring.score_answer.flush_interval = settings.scoring_batch_wait_s
