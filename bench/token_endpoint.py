"""Token-endpoint benchmark: client-credentials grants per second through gunicorn.

One run builds a throw-away PostgreSQL database with the project's own CLI, serves it
with gunicorn on loopback, proves that an issued token verifies against the published
JWKS, drives ``POST /oauth/token`` with wrk for a fixed time, and sets the result
against OpenSSL's RSA-2048 signing rate on the same cores (the ceiling of RS256
issuance).  See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pstats
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import jwt
import psycopg
import redis
import summary  # bench/summary.py
import wrk  # bench/wrk.py: this script's folder is first on sys.path
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BENCH_DB = "idp_bench"  # dropped and re-created on every run; never the tests' database
REDIS_URL = "redis://127.0.0.1:6379/1"
CLIENT_ID, SCOPE = "bench", "credits:read"
CONNECTIONS = 16
WARMUP_SECONDS = 3
GOAL_GRANTS, GOAL_P99_MS = 2000, 50.0


class BenchError(RuntimeError):
    """The bench could not produce a trustworthy figure."""


def nproc() -> int:
    """CPUs this process may use, as ``nproc`` counts them."""
    return len(os.sched_getaffinity(0))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load (default 20)")
    # Defaults measured best on 2 cores (bench/README.md): gthread keeps wrk's connections
    # alive (sync workers close every one), and a worker per core keeps both cores busy.
    parser.add_argument("--workers", type=int, default=nproc(), help="default: nproc")
    parser.add_argument("--worker-class", default="gthread", help="default: gthread")
    parser.add_argument("--threads", type=int, default=4, help="per worker (default 4)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk shares the cores too")
    parser.add_argument(
        "--profile", action="store_true", help="one sync worker under cProfile (bench/results/)"
    )
    parser.add_argument(
        "--server", choices=["gunicorn", "granian"], default="granian", help="default: granian"
    )
    parser.add_argument("--summary-json", metavar="PATH", help="write a row (bench/summary.py)")
    args = parser.parse_args()
    if args.profile:
        args.workers, args.worker_class = 1, "sync"  # cProfile sees only the main thread
        args.server = "gunicorn"  # bench/gunicorn_profile.py is a gunicorn hook
    if args.worker_class != "gthread":
        args.threads = 1  # gunicorn silently turns sync workers with threads into gthread
    return args


def busy_share(seconds: float = 1.0) -> float:
    """Share of all CPU time spent busy over ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def openssl_rsa2048_signs(cores: int) -> float:
    """RSA-2048 signatures/s over ``cores`` processes, as ``openssl speed`` measures them."""
    cmd = ["openssl", "speed", "-seconds", "5", "-multi", str(cores), "rsa2048"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    # "rsa 2048 bits 0.000126s 0.000008s   7945.6 120763.0": sign/s is the third figure.
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)", out, re.M)
    if not match:
        raise BenchError(f"unexpected openssl speed output:\n{out}")
    return float(match.group(1))


def create_database(name: str | None = None, drop_only: bool = False) -> str:
    """Drop (and unless ``drop_only``, re-create) the bench database ``name`` (default
    ``BENCH_DB``); returns its URL."""
    name = name or BENCH_DB
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    return f"{PG_SERVER}/{name}"


def fresh_env(database: str, redis_url: str, port: int, instance: str) -> dict:
    """:func:`server_env` on a fresh ``database`` and on ``redis_url``, flushed first (rate
    limits, deny-list); without a Redis answering there the server runs without one."""
    env = server_env(create_database(database), port, instance)
    env.pop("REDIS_URL", None)
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).flushdb()
        env["REDIS_URL"] = redis_url
    except redis.RedisError:
        pass  # the server runs without Redis, as it does without REDIS_URL
    return env


def reachable_redis() -> str | None:
    """REDIS_URL when a Redis answers there; the server runs without Redis otherwise."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return REDIS_URL


def server_env(database_url: str, port: int, instance: str) -> dict:
    """Environment for the flask CLI and gunicorn: fresh secrets, nothing from ./instance."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_APP")}
    env.update(
        {
            "IDP_ENV": "development",  # production would demand an https issuer
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "IDP_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "IDP_ISSUER": f"http://127.0.0.1:{port}",
            "IDP_INSTANCE_PATH": instance,
            "IDP_LOG_LEVEL": "WARNING",
        }
    )
    if redis_url := reachable_redis():
        env["REDIS_URL"] = redis_url
    return env


def flask_cli(env: dict, command: str) -> str:
    """Run ``flask --app wsgi COMMAND`` as an operator would; returns its stdout."""
    cmd = [str(BIN / "flask"), "--app", "wsgi", *command.split()]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise BenchError(f"flask {command} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def provision(env: dict) -> str:
    """Migrate, create signing keys, register the bench app; returns HTTP Basic credentials."""
    flask_cli(env, "db upgrade")
    flask_cli(env, "keys ensure")
    out = flask_cli(env, f"apps create --name bench --client-id {CLIENT_ID} --scope {SCOPE} --json")
    secret = json.loads(out)["client_secret"]
    return base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    env: dict, port: int, args: argparse.Namespace, cwd: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """Serve ``wsgi:app`` (imported from ``cwd``) with gunicorn on loopback until the block
    exits, however it exits.  Yields the base URL and the server's process group."""
    options = (
        f"--bind 127.0.0.1:{port} --log-level warning --workers {args.workers}"
        f" --worker-class {args.worker_class} --threads {args.threads}"
    )
    if args.profile:
        options += f" --config {ROOT / 'bench' / 'gunicorn_profile.py'}"
    # deploy/gunicorn.conf.py is not read (only ./gunicorn.conf.py would be): flags only.
    cmd = [str(BIN / "gunicorn"), *options.split(), "wsgi:app"]
    with served(cmd, env, port, "gunicorn", cwd=cwd) as up:
        yield up


@contextmanager
def granian(env: dict, port: int, args: argparse.Namespace) -> Iterator[tuple[str, int]]:
    """:func:`gunicorn`, served by granian's WSGI interface instead (``--workers``
    processes, ``--threads`` blocking threads each)."""
    options = (
        f"--interface wsgi --host 127.0.0.1 --port {port} --workers {args.workers}"
        f" --blocking-threads {args.threads} --log-level warning --no-access-log --no-ws"
    )
    cmd = [str(BIN / "granian"), *options.split(), "wsgi:app"]
    with served(cmd, env, port, "granian") as up:
        yield up


def server(env: dict, port: int, args: argparse.Namespace):
    """The server ``args.server`` names (gunicorn unless said otherwise)."""
    return (
        granian(env, port, args)
        if getattr(args, "server", "") == "granian"
        else (gunicorn(env, port, args))
    )


@contextmanager
def served(
    cmd: list[str],
    env: dict,
    port: int,
    name: str,
    cwd: Path = ROOT,
    ready: str = "/healthz",
    quiet: bool = False,
) -> Iterator[tuple[str, int]]:
    """Run a server until the block exits, however it exits; yields its base URL (once
    ``ready`` answers) and its process group."""
    # A session of its own: Ctrl-C reaches only us, and we stop the server gracefully (the
    # profiler writes its stats when the worker exits gracefully).
    output = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL} if quiet else {}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, **output)
    try:
        yield wait_until_up(proc, f"http://127.0.0.1:{port}", name, ready=ready), proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_until_up(
    proc: subprocess.Popen,
    base: str,
    name: str = "gunicorn",
    timeout: float = 30,
    ready: str = "/healthz",
) -> str:
    """``base`` once ``ready`` answers; fails if the server exits or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}{ready}", timeout=1):
                return base
        except OSError:  # URLError too: not listening yet
            time.sleep(0.2)
    raise BenchError(f"{name} did not answer within {timeout:.0f} s")


def verified_token(base: str, credentials: str, issuer: str) -> dict:
    """Issue one token and check its RS256 signature against the served JWKS."""
    request = urllib.request.Request(
        f"{base}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={"Authorization": f"Basic {credentials}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            token = json.load(response)["access_token"]
    except urllib.error.HTTPError as exc:
        raise BenchError(f"token request failed: {exc.code} {exc.read()!r}") from None
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt":
        raise BenchError(f"unexpected token header {header}")
    key = jwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=issuer,
        options={"require": ["exp", "iat", "jti"]},
    )
    return {"kid": header["kid"], **claims}


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system, all threads) used so far by the live processes of ``pgid``."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)"
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def load_test(args: argparse.Namespace, profile_path: Path) -> dict:
    """Provision, serve, verify one token, warm up, then measure.

    Besides wrk's figures, returns the CPU seconds the server and wrk spent: CPU per
    grant moves far less than grants/s when other processes compete for the cores.
    """
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(create_database(), port, instance)
        env["BENCH_PROFILE_OUT"] = str(profile_path)
        print(f"provisioning {BENCH_DB} ({env.get('REDIS_URL', 'no Redis')})...", flush=True)
        credentials = provision(env)
        with server(env, port, args) as (base, pgid):
            claims = verified_token(base, credentials, env["IDP_ISSUER"])
            print(f"RS256 signature verified with the JWKS: kid={claims['kid']}", flush=True)
            load = partial(
                wrk.run,
                f"{base}/oauth/token",
                "grant_type=client_credentials",
                f"Basic {credentials}",
                connections=CONNECTIONS,
                threads=args.wrk_threads,
            )
            load(seconds=WARMUP_SECONDS)  # fills every worker's client and key caches
            print(f"load: {CONNECTIONS} connections for {args.duration} s...", flush=True)
            server0, wrk0 = group_cpu_seconds(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
            report = load(seconds=args.duration)
            server1, wrk1 = group_cpu_seconds(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = wrk.parse(report)
    # wrk stops early and still reports when it gets SIGINT (Ctrl-C hits the whole group).
    if result["seconds"] < 0.9 * args.duration:
        raise BenchError("wrk stopped before the end of the run")
    if not result["requests"]:
        raise BenchError(f"no request completed:\n{report}")
    wrk_cpu = wrk1.ru_utime + wrk1.ru_stime - wrk0.ru_utime - wrk0.ru_stime
    return {**result, "server_cpu_s": server1 - server0, "wrk_cpu_s": wrk_cpu, "report": report}


def print_summary(result: dict, args: argparse.Namespace) -> None:
    threads = f" x {args.threads} threads" if args.threads > 1 else ""
    kind = args.worker_class if args.server == "gunicorn" else "WSGI"
    profiled = " under cProfile (figures not comparable)" if args.profile else ""
    grants, cores = result["requests_per_s"], result["cores"]
    server_ms = 1000 * result["server_cpu_s"] / result["requests"]
    wrk_ms = 1000 * result["wrk_cpu_s"] / result["requests"]
    ceiling = cores * 1000 / server_ms
    met = grants >= GOAL_GRANTS and result["p99_ms"] < GOAL_P99_MS
    print(f"""
== POST /oauth/token (client_credentials, RS256 JWT) ==
server: {args.server} {args.workers} {kind} workers{threads}{profiled}
load: wrk, {CONNECTIONS} connections, {args.duration} s, {result["requests"]} requests
CPU busy before the run: {result["busy_before"]:.0%}
grants/s: {grants:.0f}
p50 ms: {result["p50_ms"]:.1f}
p99 ms: {result["p99_ms"]:.1f}
non-2xx: {result["non_2xx"]}
socket errors: {result["socket_errors"]}
server CPU ms/grant: {server_ms:.2f} ({cores} cores for the server alone: {ceiling:.0f}/s)
wrk CPU ms/request: {wrk_ms:.2f}
openssl rsa2048 sign/s ({cores} cores): {result["openssl_sign_per_s"]:.0f}
ratio: {grants / result["openssl_sign_per_s"]:.0%}
goal (>= {GOAL_GRANTS} grants/s, p99 < {GOAL_P99_MS:.0f} ms): {"met" if met else "not met"}""")


def main() -> int:
    args = parse_args()
    if not shutil.which("wrk"):
        raise BenchError("wrk not found: `make bench` installs it (apt-get install -y wrk)")
    # SIGTERM unwinds like Ctrl-C, so gunicorn is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cores, busy = nproc(), busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be low", flush=True)
    # Before the server starts, so both figures get the same otherwise idle cores.
    print(f"openssl speed rsa2048 on {cores} cores (10 s)...", flush=True)
    signs = openssl_rsa2048_signs(cores)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"token_endpoint-{time.strftime('%Y%m%d-%H%M%S')}"
    result = load_test(args, RESULTS / f"{stamp}.prof")
    print(result["report"])
    result.update(openssl_sign_per_s=signs, cores=cores, busy_before=busy)
    (RESULTS / f"{stamp}.json").write_text(json.dumps({**result, "args": vars(args)}, indent=2))
    if args.profile:
        profile = RESULTS / f"{stamp}.prof"
        if not profile.exists():
            raise BenchError("the profiled worker wrote no stats (did it exit gracefully?)")
        print(f"cProfile of the worker, top 30 by cumulative time ({profile.name}):")
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(30)
    print_summary(result, args)
    figure = f"client_credentials grants/s ({args.server}, {args.duration} s)"
    ceiling = "openssl RSA-2048 signs/s"
    row = summary.row(figure, result["requests_per_s"], "/s", ceiling, signs, "(the ceiling)", None)
    summary.write(args.summary_json, [row])
    if result["non_2xx"]:
        raise BenchError(f"{result['non_2xx']} non-2xx responses")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, wrk.WrkError) as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
