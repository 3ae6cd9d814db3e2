"""CPU per token grant inside one process, without HTTP: the app's WSGI callable called
directly with a prepared environ, so only the Python request path is measured (no socket,
no server).  For comparing code changes; ``--profile`` prints where the time goes, and
the SQL one grant runs is listed (``BENCH_SQL=1``: with each statement's text).

    .venv/bin/python bench/token_inprocess.py [--grant client_credentials|refresh_token]
        [--n 3000] [--profile]

Uses PostgreSQL (database ``bench_inproc``, dropped afterwards) and Redis database 14.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # wsgi.py, idp/
import compare  # bench/compare.py, beside this file
import token_endpoint as te

VERBOSE = bool(os.environ.get("BENCH_SQL"))


def environ(body: bytes, authorization: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/oauth/token",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": authorization,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


class Grants:
    """Calls the app for one grant type; a refresh chain presents each new token."""

    def __init__(self, app, grant: str, env: dict, credentials: str) -> None:
        self.app, self.statuses = app, {}
        self.authorization = f"Basic {credentials}"
        self.chain: list[str] | None = None
        if grant == "refresh_token":
            refresh_basic, mint = compare.refresh_client(env)
            self.authorization = f"Basic {refresh_basic}"
            self.chain = mint(1)

    def body(self) -> bytes:
        if self.chain is None:
            return b"grant_type=client_credentials"
        return b"grant_type=refresh_token&refresh_token=" + self.chain[-1].encode()

    def run(self, count: int) -> None:
        for _ in range(count):
            status = []
            result = self.app(environ(self.body(), self.authorization), self._start(status))
            data = b"".join(result)
            self.statuses[status[0]] = self.statuses.get(status[0], 0) + 1
            if self.chain is not None:
                self.chain.append(json.loads(data)["refresh_token"])

    @staticmethod
    def _start(status: list):
        return lambda line, headers, exc_info=None: status.append(line)


def sql_of_one(grants: Grants) -> list[str]:
    from sqlalchemy import event

    from idp.core.extensions import db

    statements: list[str] = []

    def record(conn, cursor, statement, *_):
        statements.append(statement if VERBOSE else " ".join(statement.split()[:4]))

    with grants.app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        grants.run(1)
        event.remove(db.engine, "before_cursor_execute", record)
    return statements


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grant", default="client_credentials")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5, help="batches (default 5)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db", default="bench_inproc")
    args = parser.parse_args()
    te.BENCH_DB, te.REDIS_URL = args.db, "redis://127.0.0.1:6379/14"
    try:
        with tempfile.TemporaryDirectory() as instance:
            env = te.server_env(te.create_database(), 8000, instance)
            credentials = te.provision(env)
            os.environ.update(env)
            from wsgi import app  # after the environment is set

            grants = Grants(app, args.grant, env, credentials)
            grants.run(200)  # warm-up
            statements = sql_of_one(grants)
            print(f"SQL statements in one grant: {len(statements)}")
            print("\n".join(f"  {s}" for s in statements))
            grants.statuses.clear()
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            batches = []  # CPU ms per grant of each batch; the least is the least disturbed
            for _ in range(args.repeat):
                t0 = time.process_time()
                grants.run(args.n // args.repeat)
                batches.append(1000 * (time.process_time() - t0) / (args.n // args.repeat))
            if profiler:
                profiler.disable()
            shown = " ".join(f"{b:.3f}" for b in batches)
            print(f"{args.grant}: {args.n} grants, ms CPU each per batch: {shown}")
            print(f"  least {min(batches):.3f} ms, median {statistics.median(batches):.3f} ms")
            print(f"  responses: {grants.statuses}")
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(35)
                stats.sort_stats("cumulative").print_stats(60)
    finally:
        dropdb = ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force"]
        subprocess.run([*dropdb, args.db], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
