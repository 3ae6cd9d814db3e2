"""gunicorn, still supported: ``gunicorn --config deploy/gunicorn.conf.py wsgi:app``.

The same layout as deploy/granian.env (the recommended server; bench/README.md,
"Choosing the server", has the measurements): a worker per core, four threads each,
the app's JSON access line instead of gunicorn's, Prometheus multi-process mode.
"""

import os
import shutil

bind = os.environ.get("IDP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("IDP_WORKERS", os.cpu_count() or 2))
# gthread keeps connections alive (sync workers close each one) and lets a request that
# waits on PostgreSQL or Redis make way for another.
worker_class = "gthread"
threads = 4
keepalive = 5
# A worker silent for this long is killed and replaced; on SIGTERM workers finish what
# they hold for up to graceful_timeout seconds (keep the load balancer's deregistration
# delay at least this long).
timeout = 30
graceful_timeout = 30
# The app writes its own access line (JSON under IDP_ENV=production, with the request
# id and the route template, never the query string); gunicorn's would quote the path.
accesslog = None
errorlog = "-"
loglevel = "info"

# Prometheus multi-process mode (idp/metrics.py): set before the workers start, so each
# writes its values under it and /metrics sums them.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.abspath("instance/prometheus"))
os.environ.setdefault("PGCONNECT_TIMEOUT", "3")  # see deploy/granian.env
os.environ.setdefault("IDP_LOG_FORMAT", "json")  # as under granian, whatever IDP_ENV says


def on_starting(server):
    """A fresh directory per server start: values of a previous run's workers go."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    """A worker that exited: its live gauges (pool connections in use) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
