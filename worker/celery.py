"""The Celery app for the `celery -A worker` command line: a shim, settings from the environment."""

from shared.celery import make_celery
from shared.config import Settings

app = make_celery(Settings.from_env())

# importing the task modules registers their tasks with the app; worker.observability
# connects JSON logs, Sentry, New Relic and request ids to Celery's signals
import worker.observability  # noqa: E402,F401
import worker.tasks.maintenance  # noqa: E402,F401
import worker.tasks.scoring  # noqa: E402,F401
