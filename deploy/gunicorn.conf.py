"""gunicorn, still supported: ``gunicorn --config deploy/gunicorn.conf.py wsgi:app``.

The same layout as deploy/granian.env (the recommended server; bench/README.md,
"Choosing the server", has the measurements): a worker per core, four threads each.
"""

import os

bind = os.environ.get("IDP_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("IDP_WORKERS", os.cpu_count() or 2))
# gthread keeps connections alive (sync workers close each one) and lets a request that
# waits on PostgreSQL or Redis make way for another.
worker_class = "gthread"
threads = 4
keepalive = 5
timeout = 30
graceful_timeout = 30
accesslog = None
loglevel = "info"
