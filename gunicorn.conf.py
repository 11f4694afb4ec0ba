"""gunicorn reads this file from the directory it starts in (`make run`, the web image).

- Its own messages become JSON lines on stdout, like the application's; no access log,
  since the app logs every request itself (`request.finished`, with its request id).
- No control socket (gunicorn 27's `gunicornc` interface).
- Prometheus multiprocess mode: every worker process writes its metrics into one
  directory, emptied when the server starts, so /metrics adds up all the processes.
  PROMETHEUS_MULTIPROC_DIR names it; without it each run gets a fresh temporary one.
  The variable must be set before a worker imports prometheus_client, hence the master.
"""

import os
import shutil
import tempfile

from gunicorn.glogging import Logger

from shared.config import Settings
from shared.logging import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig("web")


class NoAccessLogger(Logger):
    """gunicorn's logger without the access line: the app's `request.finished` has it all."""

    def access(self, resp, req, environ, request_time):
        pass


logger_class = NoAccessLogger

# gunicorn 27's runtime control socket (~/.gunicorn/gunicorn.ctl) is not used here, and
# two servers on one machine (tests, a second checkout) would fight over its one path
control_socket_disable = True

_made_metrics_dir: list[str] = []


def on_starting(server):
    # made here, in the master, before any worker asks: this checkout's dev secrets too
    settings = Settings.from_env()
    if settings.uses_development_secrets:
        # the host needs it; it is this checkout's (or container's) own random key
        server.log.warning(
            "web.dev_secrets development_key=%s kept_in=%s (the X-Host-Key to use)",
            settings.host_key,
            settings.dev_secrets_file,
        )
    path = settings.prometheus_multiproc_dir
    if path:
        os.makedirs(path, exist_ok=True)
        # figures of a previous run would be added to this one's
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.unlink(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix="quiz-metrics-")
        _made_metrics_dir.append(path)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    server.log.info("metrics.multiprocess_dir path=%s", path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    # drops the live gauges of a worker that is gone (counters keep their totals)
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for path in _made_metrics_dir:
        shutil.rmtree(path, ignore_errors=True)
