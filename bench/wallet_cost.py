"""CPU per credit consume, in-process: the server's Python, PostgreSQL's and Redis's.

On a 2-core machine that runs the server, PostgreSQL, Redis and the load generator, a
consume's rate is bounded by what it costs all of them together, and wrk's figure moves
by up to 2x between runs of one commit (16 keep-alive connections share out unevenly
over the workers).  This measures the cost itself, which moves little: ``--seconds`` of
consumes of one funded user's wallet through the app's WSGI callable (Flask's test
client, one thread, no sockets, no lock waits), after a warm-up, on a fresh database,
taking the CPU time of this process and of the PostgreSQL backends serving the
database (``/proc/<pid>/stat``): their sum is ``total_ms``.  ``redis-server``'s is
printed beside it, and counts every client's.

``--tree`` runs another checkout's code with the same measurement (bench/wallet_baseline.py
uses it on the commit before credit lots): its migrations and CLI build the database and
its ``idp`` package is imported.

    .venv/bin/python bench/wallet_cost.py [--seconds 20] [--tree PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from token_endpoint import PG_SERVER, ROOT, BenchError, create_database, free_port, server_env
from wallet_consume import API_PATH, CLIENT_ID, SCOPE, provision_one

DATABASE = "idp_bench_wallet_cost"  # dropped and re-created on every run
_TICK = os.sysconf("SC_CLK_TCK")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="measured (20)")
    parser.add_argument("--warmup", type=int, default=300, help="consumes before (300)")
    parser.add_argument(
        "--start-at", type=float, metavar="EPOCH",
        help="begin measuring at this time.time() (two runs side by side share a window)",
    )  # fmt: skip
    parser.add_argument("--database", default=DATABASE, help=f"default {DATABASE}")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures")
    return parser.parse_args()


def cpu_seconds(pids) -> float:
    """User + system CPU of ``pids`` (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def redis_pids() -> list[int]:
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "redis-server":
                found.append(int(comm.parent.name))
        except OSError:
            continue  # a process that ended meanwhile
    return found


def backends(watcher: psycopg.Connection, database: str) -> set[int]:
    rows = watcher.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    ).fetchall()
    return {pid for (pid,) in rows}


def measure(args: argparse.Namespace) -> dict:
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(create_database(args.database), free_port(), instance)
        ids = provision_one(env, tree=tree)
        os.environ.update(env)
        sys.path.insert(0, str(tree))
        import idp  # from --tree, first on sys.path only now

        if not Path(idp.__file__).is_relative_to(tree):
            raise BenchError(f"idp imported from {idp.__file__}, not from {tree}")
        app = idp.create_app()
        client = app.test_client()
        base = env["IDP_ISSUER"]
        basic = base64.b64encode(f"{CLIENT_ID}:{ids['secret']}".encode()).decode()
        issued = client.post(
            "/oauth/token",
            base_url=base,
            data={"grant_type": "client_credentials", "scope": SCOPE},
            headers={"Authorization": f"Basic {basic}"},
        )
        if issued.status_code != 200:
            raise BenchError(f"token: {issued.status_code} {issued.get_data(as_text=True)}")
        headers = {"Authorization": f"Bearer {issued.json['access_token']}"}
        run = secrets.token_hex(4)

        def consume(n: int) -> None:
            body = {"amount": 1, "service": "bench-cost", "idempotency_key": f"{run}-{n}"}
            done = client.post(
                f"{API_PATH}?user={ids['sub']}", base_url=base, json=body, headers=headers
            )
            if done.status_code != 201:
                raise BenchError(f"consume: {done.status_code} {done.get_data(as_text=True)}")

        for n in range(args.warmup):
            consume(n)
        if args.start_at is not None:
            if time.time() > args.start_at + 1:
                raise BenchError("not ready by --start-at: give the runs more time to set up")
            time.sleep(max(0.0, args.start_at - time.time()))
        with psycopg.connect(f"{PG_SERVER}/{args.database}", autocommit=True) as watcher:
            pg, cache = backends(watcher, args.database), redis_pids()
            py0, pg0, redis0 = time.process_time(), cpu_seconds(pg), cpu_seconds(cache)
            wall0 = time.perf_counter()
            count = 0
            while time.perf_counter() - wall0 < args.seconds:
                consume(args.warmup + count)
                count += 1
            wall = time.perf_counter() - wall0
            py, pg1, redis1 = time.process_time() - py0, cpu_seconds(pg), cpu_seconds(cache)
            if backends(watcher, args.database) - pg:
                raise BenchError("a PostgreSQL session opened during the measurement")
        create_database(args.database, drop_only=True)
    per = 1000 / count
    figures = {
        "consumes": count,
        "python_ms": py * per,
        "postgres_ms": (pg1 - pg0) * per,
        "redis_ms": (redis1 - redis0) * per,
        "wall_ms": wall * per,
    }
    # Redis serves runs side by side at once, so its share is not this run's alone.
    figures["total_ms"] = figures["python_ms"] + figures["postgres_ms"]
    return figures


def main() -> int:
    args = parse_args()
    figures = measure(args)
    print(
        f"CPU ms per consume, in-process ({args.tree}): "
        + ", ".join(f"{name} {value:.3f}" for name, value in figures.items())
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
