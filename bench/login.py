"""Sign-in benchmark: ``POST /login`` latency beside the argon2id verification alone.

One run builds a throw-away PostgreSQL database with the project's own CLI (a verified
user), serves it with gunicorn on loopback and signs in N times one after the other as a
browser does (GET /login for the CSRF token and its cookie, POST /login, a 302 with the
session cookie).  Between sign-ins this process verifies the user's stored hash with the
hasher the app's configuration builds, so both figures see the same machine.  A sign-in
is one argon2id verification plus the request around it: the goal is a p50 within 20 %
of the verification's.  Then 4 browsers sign in at once (reported, no goal).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import secrets
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import token_endpoint as te  # bench/token_endpoint.py: this script's folder is on sys.path

BENCH_DB = "bench_login"  # dropped and re-created on every run; never the tests' database
REDIS_URL = "redis://127.0.0.1:6379/7"  # flushed at the start: the rate limiter's counters
EMAIL = "bench-login@example.com"
GOAL_RATIO = 1.2
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="sequential sign-ins (40)")
    parser.add_argument("--concurrent", type=int, default=4, help="browsers at once (4)")
    parser.add_argument("--workers", type=int, default=te.nproc(), help="default: nproc")
    parser.add_argument("--threads", type=int, default=2, help="per gthread worker (2)")
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=40,
        default=0,
        metavar="N",
        help="also cProfile N sign-ins in-process through Flask's test client",
    )
    parser.add_argument("--summary-json", type=Path, metavar="PATH", help="write the goal row")
    return parser.parse_args()


# -- database and provisioning -------------------------------------------------------------


def recreate_database(drop_only: bool = False) -> str:
    return te.create_database(BENCH_DB, drop_only)


def bench_env(port: int, instance: str) -> dict:
    """token_endpoint's server environment on this bench's database and Redis index."""
    return te.fresh_env(BENCH_DB, REDIS_URL, port, instance)


def provision(env: dict) -> str:
    """Migrate, create keys and a verified user; returns the user's password."""
    te.flask_cli(env, "db upgrade")
    te.flask_cli(env, "keys ensure")
    password = secrets.token_urlsafe(18)
    te.flask_cli(env, f"users create --email {EMAIL} --password {password} --verified --json")
    return password


# -- the two measurements ------------------------------------------------------------------


def sign_in(base: str, password: str) -> float:
    """One browser signs in; returns the POST's seconds (the GET before it is not timed)."""
    with requests.Session() as browser:
        page = browser.get(f"{base}/login", timeout=10)
        token = CSRF.search(page.text)
        if page.status_code != 200 or not token:
            raise te.BenchError(f"GET /login answered {page.status_code} without a CSRF token")
        form = {"email": EMAIL, "password": password, "csrf_token": token.group(1)}
        started = time.perf_counter()
        answer = browser.post(f"{base}/login", data=form, allow_redirects=False, timeout=10)
        elapsed = time.perf_counter() - started
    if answer.status_code not in (302, 303) or "idp_session" not in answer.cookies:
        raise te.BenchError(
            f"POST /login answered {answer.status_code}, not a redirect with a session"
        )
    return elapsed


def app_hasher(env: dict):
    """The PasswordHasher the app builds from its configuration, and the user's stored hash."""
    from idp import create_app
    from idp.users import passwords
    from idp.users import services as users

    keys = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "IDP_ISSUER")
    app = create_app({k: env[k] for k in keys if k in env} | {"IDP_LOG_LEVEL": "WARNING"})
    with app.app_context():
        return passwords.hasher(), users.by_email(EMAIL).password_hash, app


def timed_verify(hasher, stored: str, password: str) -> float:
    started = time.perf_counter()
    if not hasher.verify(stored, password):
        raise te.BenchError("the stored hash did not verify")
    return time.perf_counter() - started


def sequential(base: str, password: str, hasher, stored: str, count: int) -> dict:
    """``count`` sign-ins, each followed by one verification here: alternating, so a change
    in the machine's load hits both series alike."""
    logins, verifies = [], []
    for _ in range(count):
        logins.append(sign_in(base, password))
        verifies.append(timed_verify(hasher, stored, password))
    return {"login": percentiles(logins), "argon2": percentiles(verifies)}


def concurrent(base: str, password: str, browsers: int, count: int) -> dict:
    """``browsers`` threads signing in ``count`` times each; latency and sign-ins/s."""
    samples: list[float] = []
    errors: list[BaseException] = []

    def browse():
        try:
            for _ in range(count):
                samples.append(sign_in(base, password))
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=browse) for _ in range(browsers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise te.BenchError(f"a concurrent sign-in failed: {errors[0]}")
    return percentiles(samples) | {"per_s": len(samples) / elapsed}


def percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    at = lambda share: 1000 * ordered[min(int(share * len(ordered)), len(ordered) - 1)]  # noqa: E731
    return {"n": len(ordered), "p50_ms": 1000 * statistics.median(ordered), "p90_ms": at(0.9)}


# -- profile -------------------------------------------------------------------------------


def profile_sign_ins(app, password: str, count: int, out: Path) -> None:
    """cProfile ``count`` sign-ins through Flask's test client; where the time goes."""
    from sqlalchemy import event

    from idp.core.extensions import db

    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def one() -> int:
        http = app.test_client()  # a browser of its own, as each sign-in above
        token = CSRF.search(http.get("/login").get_data(as_text=True)).group(1)
        statements.clear()
        form = {"email": EMAIL, "password": password, "csrf_token": token}
        profiler.enable()
        status = http.post("/login", data=form).status_code
        profiler.disable()
        return status

    profiler = cProfile.Profile()
    statuses = [one() for _ in range(count)]
    profiler.dump_stats(out)
    if not set(statuses) <= {302, 303}:
        raise te.BenchError(f"profiled sign-ins answered {sorted(set(statuses))}")
    stats = pstats.Stats(str(out))
    total = stats.total_tt
    argon2 = sum(row[3] for key, row in stats.stats.items() if "argon2_verify" in key[2])
    print(f"\ncProfile: {count} sign-ins in-process, {1000 * total / count:.2f} ms each (POST):")
    rest = 1000 * (total - argon2) / count
    print(f"  argon2id verify {1000 * argon2 / count:.2f} ms, everything else {rest:.2f} ms")
    print(f"SQL statements in the last sign-in: {len(statements)}")
    for text in statements:
        print(f"  {' '.join(text.split())[:110]}")
    print(f"\ntop 20 by own time ({out.name}):")
    stats.sort_stats("tottime").print_stats(20)


# -- report --------------------------------------------------------------------------------


def summary_row(result: dict) -> dict:
    login, argon2 = (
        result["sequential"]["login"]["p50_ms"],
        result["sequential"]["argon2"]["p50_ms"],
    )
    ratio = login / argon2
    return {
        "figure": "POST /login p50 (sequential)",
        "value": round(login, 2),
        "unit": "ms",
        "peer": "argon2id verify alone, p50 (app's parameters)",
        "peer_value": round(argon2, 2),
        "ratio": round(ratio, 3),
        "goal": f"<= {GOAL_RATIO}x",
        "met": ratio <= GOAL_RATIO,
    }


def print_summary(args: argparse.Namespace, result: dict) -> None:
    seq, many, row = result["sequential"], result["concurrent"], summary_row(result)
    print(f"""
== POST /login (email + password, 302 with the session cookie) ==
server: gunicorn {args.workers} gthread workers x {args.threads} threads
argon2id parameters: {result["argon2_parameters"]}
CPU busy before the run: {result["busy_before"]:.0%}
sequential sign-ins: {seq["login"]["n"]}
login p50 ms: {seq["login"]["p50_ms"]:.1f}   p90 ms: {seq["login"]["p90_ms"]:.1f}
argon2id verify alone p50 ms: {seq["argon2"]["p50_ms"]:.1f}   p90 ms: {seq["argon2"]["p90_ms"]:.1f}
ratio login/argon2id: {row["ratio"]:.2f}x
goal (login p50 <= {GOAL_RATIO}x the hash alone): {"met" if row["met"] else "not met"}
{args.concurrent} browsers at once ({many["n"]} sign-ins): p50 ms {many["p50_ms"]:.1f}, \
p90 ms {many["p90_ms"]:.1f}, {many["per_s"]:.1f} sign-ins/s (no goal)""")


def run(args: argparse.Namespace, stamp: str) -> dict:
    port = te.free_port()
    server = argparse.Namespace(
        workers=args.workers, worker_class="gthread", threads=args.threads, profile=False
    )
    with tempfile.TemporaryDirectory() as instance:
        env = bench_env(port, instance)
        try:
            print(f"provisioning {BENCH_DB} ({env.get('REDIS_URL', 'no Redis')})...", flush=True)
            password = provision(env)
            hasher, stored, app = app_hasher(env)
            with te.gunicorn(env, port, server) as (base, _pgid):
                for _ in range(3):  # warm-up: the worker's pools, templates, dummy hash
                    sign_in(base, password)
                    timed_verify(hasher, stored, password)
                print(f"{args.count} sequential sign-ins...", flush=True)
                seq = sequential(base, password, hasher, stored, args.count)
                per_browser = max(args.count // args.concurrent, 2)
                print(f"{args.concurrent} browsers x {per_browser} sign-ins...", flush=True)
                many = concurrent(base, password, args.concurrent, per_browser)
            if args.profile:
                profile_sign_ins(app, password, args.profile, te.RESULTS / f"{stamp}.prof")
        finally:
            recreate_database(drop_only=True)
    parameters = (
        f"time_cost={hasher.time_cost}, memory_cost={hasher.memory_cost} KiB,"
        f" parallelism={hasher.parallelism}"
    )
    return {"sequential": seq, "concurrent": many, "argon2_parameters": parameters}


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: gunicorn is stopped
    busy = te.busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be low", flush=True)
    te.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"login-{time.strftime('%Y%m%d-%H%M%S')}"
    result = run(args, stamp) | {"busy_before": busy, "cores": te.nproc()}
    (te.RESULTS / f"{stamp}.json").write_text(
        json.dumps({**result, "args": vars(args)}, indent=2, default=str)
    )
    print_summary(args, result)
    if args.summary_json:
        args.summary_json.write_text(json.dumps([summary_row(result)], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except te.BenchError as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
