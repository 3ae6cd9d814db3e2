"""gunicorn config for ``token_endpoint.py --profile``: cProfile the worker, dump on exit.

Only the worker's main thread is profiled, so the bench runs one sync worker.  The
profiler starts after the app is loaded, so imports and start-up stay out of it.
"""

import cProfile
import os


def post_worker_init(worker):
    worker.profiler = cProfile.Profile()
    worker.profiler.enable()


def worker_exit(server, worker):
    # Runs in the worker process on a graceful stop (SIGTERM from the bench).
    worker.profiler.disable()
    worker.profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
