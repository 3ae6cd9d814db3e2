"""WSGI entry point: ``granian wsgi:app``, ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

import sys

from idp import create_app
from idp.core.config import ConfigError

# gunicorn's exit status for "App failed to load": its master stops instead of respawning
# workers that would fail alike; granian and the flask command just see a failure.
APP_LOAD_ERROR = 4

try:
    app = create_app()
except ConfigError as refused:
    # Unusable settings are the operator's to fix, not a bug: every problem in one
    # message, no traceback.
    sys.stderr.write(refused.report(multiline=sys.stderr.isatty()) + "\n")
    sys.stderr.flush()
    raise SystemExit(APP_LOAD_ERROR) from None
