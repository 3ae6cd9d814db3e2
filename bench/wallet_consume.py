"""Wallet benchmark: credit consumes per second through gunicorn, against pgbench.

One run builds a throw-away PostgreSQL database with the project's own CLI (a user with
a large balance, a confidential app the user granted ``credits:consume``) and, in bulk
SQL, 1,000 more funded users who granted the app the same; serves it with gunicorn on
loopback and drives ``POST /api/cross-app/credits/consume`` with wrk (a fresh idempotency
key per request) in two cases: every request on the one user's wallet, then each on one
of the 1,000 wallets at random.  pgbench then runs the same transaction in SQL alone
(conditional UPDATE ... RETURNING of the wallet and of its first credit lot, INSERT of the
entry and of its draw) in both cases on the same schema,
and the ratios are printed beside the issue's goals.  ``flask wallet audit`` must be clean
afterwards.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import summary  # bench/summary.py
import wrk  # bench/wrk.py: this script's folder is first on sys.path
from token_endpoint import (
    BIN,
    CONNECTIONS,
    RESULTS,
    ROOT,
    WARMUP_SECONDS,
    BenchError,
    busy_share,
    create_database,
    free_port,
    group_cpu_seconds,
    gunicorn,
    nproc,
    server_env,
)

BENCH_DB = "idp_bench_wallet"  # dropped and re-created on every run; never the tests' database
CLIENT_ID, SCOPE = "bench-wallet", "credits:consume"
EMAIL = "bench@example.com"
FUNDS = 10**9  # the largest single grant; at 1 credit per consume it never runs out
MANY = 1000  # wallets of the second case
API_PATH = "/api/cross-app/credits/consume"


@dataclass(frozen=True)
class Case:
    """One load: which users' wallets the consumes spread over, and the issue's goal."""

    name: str  # key in the results
    title: str
    subs: tuple[str, ...]  # wrk picks one at random per request
    wallets: tuple[int, int]  # pgbench picks a wallet id in this range per transaction
    goal: float  # API consumes/s at least this share of pgbench's tps

    @property
    def service(self) -> str:
        """The entries' ``service``: how the load's entries are counted afterwards."""
        return f"bench-{self.name}"


# One POST per request with its own idempotency key ("<run>-<wrk thread>-<counter>"),
# for a user picked at random among ``subs`` (one, or 1,000).
WRK_SCRIPT = """\
local threads, counter = 0, 0
local subs = {subs}
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + tid)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
function request()
  counter = counter + 1
  local key = "{run}-" .. tid .. "-" .. counter
  local path = "{path}?user=" .. subs[math.random(#subs)]
  local body = '{{"amount": 1, "service": "{service}", "idempotency_key": "' .. key .. '"}}'
  return wrk.format(nil, path, nil, body)
end
"""

# The same change in SQL alone: pgbench's ceiling for the API's transaction, on a wallet
# picked per transaction from :first to :last (the same id twice for one wallet row).
# pgbench takes every ":word" for a variable, even inside quotes, so the actor
# ("client:<id>") comes in with -D.  The hash stands for the API's SHA-256 hex digest.
PGBENCH_SCRIPT = r"""
\set key random(1, 9000000000000000000)
\set wallet random(:first, :last)
BEGIN;
UPDATE wallets SET balance = balance - 1, updated_at = now()
  WHERE id = :wallet AND balance - held >= 1
  RETURNING balance AS balance_after, held AS held_after \gset
UPDATE credit_lots SET remaining = remaining - 1
  WHERE id = (SELECT id FROM credit_lots WHERE wallet_id = :wallet AND remaining > 0
      ORDER BY priority, expires_at IS NULL, expires_at, category = 'paid', id LIMIT 1)
    AND remaining >= 1
  RETURNING id AS lot_id \gset
INSERT INTO ledger_entries (wallet_id, kind, amount, held_delta, balance_after, held_after,
    client_id, service, idempotency_key, request_hash, actor, created_at)
  VALUES (:wallet, 'consume', -1, 0, :balance_after, :held_after, 'bench-wallet', 'pgbench',
    'pgbench-' || CAST(:client_id AS text) || '-' || CAST(:key AS text), repeat('0', 64),
    :actor, now())
  RETURNING id AS entry_id \gset
INSERT INTO credit_lot_draws (entry_id, lot_id, amount) VALUES (:entry_id, :lot_id, 1);
END;
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of each load (20)")
    parser.add_argument("--workers", type=int, default=nproc(), help="default: nproc")
    parser.add_argument("--worker-class", default="gthread", help="default: gthread")
    # Each request waits on PostgreSQL several times: threads overlap those waits.
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker (default 4)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk shares the cores too")
    parser.add_argument("--pgbench-jobs", type=int, default=1, help="pgbench threads (1)")
    parser.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=2000,
        default=0,
        metavar="N",
        help="cProfile N consumes (default 2000) in-process through Flask's test client",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the database afterwards")
    parser.add_argument("--database", default=BENCH_DB, help=f"default {BENCH_DB}")
    parser.add_argument(
        "--tree", type=Path, default=ROOT,
        help="serve and provision another checkout's code (bench/wallet_baseline.py)",
    )  # fmt: skip
    parser.add_argument("--api-only", action="store_true", help="no pgbench loads")
    parser.add_argument(
        "--start-at", type=float, metavar="EPOCH",
        help="measure the first case from this time.time(), the second one slot later"
        " (two runs side by side measure over the same seconds)",
    )  # fmt: skip
    parser.add_argument(
        "--summary-json", type=Path, metavar="PATH", help="write the goal rows (one per case)"
    )
    args = parser.parse_args()
    if args.worker_class != "gthread":
        args.threads = 1  # gunicorn silently turns sync workers with threads into gthread
    return args


# -- database and provisioning -------------------------------------------------------------


def query(database_url: str, statement: str, *params) -> tuple:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchone()


def flask(
    env: dict, *args: str, check: bool = True, tree: Path = ROOT
) -> subprocess.CompletedProcess:
    """``flask --app wsgi ARGS`` as an operator would run it (on ``tree``'s code)."""
    cmd = [str(BIN / "flask"), "--app", "wsgi", *args]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=120)
    if check and done.returncode:
        raise BenchError(f"flask {' '.join(args)} failed:\n{done.stderr or done.stdout}")
    return done


# The consent page records what a user granted an app; the bench records it directly.
CONSENT_SNIPPET = """\
import sys
from idp import create_app
from idp.oauth2 import services
from idp.users import services as users
with create_app().app_context():
    services.grant_consent(users.by_sub(sys.argv[1]).id, sys.argv[2], sys.argv[3])
"""


def provision(env: dict, tree: Path = ROOT) -> dict:
    """Migrate, create keys, a funded user and an app they granted ``credits:consume``,
    and the second case's users."""
    found = provision_one(env, tree)
    return {**found, **grow(env["DATABASE_URL"])}


def provision_one(env: dict, tree: Path = ROOT) -> dict:
    """The first case's user and the app, on ``tree``'s migrations and CLI: their sub,
    the app's secret and the user's wallet id (bench/wallet_cost.py runs it on another
    commit's checkout too)."""
    flask(env, "db", "upgrade", tree=tree)
    flask(env, "keys", "ensure", tree=tree)
    password = secrets.token_urlsafe(18)
    user = flask(
        env, "users", "create", "--email", EMAIL, "--password", password, "--verified", "--json",
        tree=tree,
    )  # fmt: skip
    sub = json.loads(user.stdout)["sub"]
    flask(
        env, "wallet", "grant", "--email", EMAIL, "--credits", str(FUNDS), "--reason", "bench",
        tree=tree,
    )  # fmt: skip
    app = flask(
        env, "apps", "create", "--name", "bench wallet", "--client-id", CLIENT_ID,
        "--type", "confidential", "--scope", SCOPE, "--json", tree=tree,
    )  # fmt: skip
    secret = json.loads(app.stdout)["client_secret"]
    consent = [str(BIN / "python"), "-c", CONSENT_SNIPPET, sub, CLIENT_ID, SCOPE]
    subprocess.run(consent, cwd=tree, env=env, check=True, capture_output=True, timeout=60)
    (wallet_id,) = query(
        env["DATABASE_URL"],
        "SELECT w.id FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.sub = %s",
        sub,
    )
    return {"sub": sub, "secret": secret, "wallet_id": wallet_id}


# The second case's users, as the CLI and the consent page would leave them but in five
# statements: each with the first user's password hash (never used: nobody signs in), a
# wallet whose balance its grant entry and that entry's lot explain (the ledger audit
# stays clean) and its consent to the app.  On a fresh database the wallets' ids are consecutive.
GROW = [
    """INSERT INTO users (sub, email, email_verified, password_hash, display_name, user_type,
         disabled, created_at, password_changed_at, updated_at)
       SELECT substr(md5(%(salt)s || n), 1, 22), 'bench-' || n || '@example.com', true,
         t.password_hash, '', t.user_type, false, now(), now(), now()
       FROM generate_series(1, %(many)s) n, users t WHERE t.email = %(email)s""",
    """INSERT INTO wallets (user_id, balance, held, created_at, updated_at)
       SELECT id, %(funds)s, 0, now(), now() FROM users WHERE email LIKE 'bench-%%'
       ORDER BY id""",
    """INSERT INTO ledger_entries (wallet_id, kind, amount, held_delta, balance_after,
         held_after, actor, reason, created_at)
       SELECT w.id, 'promo_grant', %(funds)s, 0, %(funds)s, 0, 'admin:bench', 'bench', now()
       FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.email LIKE 'bench-%%'""",
    # Each grant's lot (wallet.lots): promotional, never expiring.
    """INSERT INTO credit_lots (wallet_id, entry_id, category, priority, amount, remaining,
         effective_from, created_at)
       SELECT e.wallet_id, e.id, 'promotional', 0, e.amount, e.amount, now(), now()
       FROM ledger_entries e JOIN wallets w ON w.id = e.wallet_id
       JOIN users u ON u.id = w.user_id WHERE u.email LIKE 'bench-%%'""",
    """INSERT INTO consents (user_id, client_id, scopes, granted_at, updated_at)
       SELECT id, %(client_id)s, CAST(%(scopes)s AS json), now(), now()
       FROM users WHERE email LIKE 'bench-%%'""",
]
MANY_WALLETS = """SELECT u.sub, w.id FROM users u JOIN wallets w ON w.user_id = u.id
  WHERE u.email LIKE 'bench-%%' ORDER BY w.id"""


def grow(database_url: str) -> dict:
    """Bulk-create the :data:`MANY` users of the second case; their subs and wallet ids."""
    params = {
        "salt": secrets.token_hex(8),
        "many": MANY,
        "email": EMAIL,
        "funds": FUNDS,
        "client_id": CLIENT_ID,
        "scopes": json.dumps([SCOPE]),
    }
    with psycopg.connect(database_url) as conn:
        lots = conn.execute("SELECT to_regclass('credit_lots')").fetchone()[0] is not None
        for statement in GROW:
            if "credit_lots" not in statement or lots:  # a commit before lots: none
                conn.execute(statement, params)
        rows = conn.execute(MANY_WALLETS).fetchall()
    ids = [wallet_id for _, wallet_id in rows]
    if len(rows) != MANY or ids != list(range(ids[0], ids[0] + MANY)):
        raise BenchError(f"expected {MANY} wallets with consecutive ids, found {len(rows)}")
    return {"many_subs": tuple(sub for sub, _ in rows), "many_wallets": (ids[0], ids[-1])}


def cases(ids: dict) -> list[Case]:
    """The two loads of the issue: one wallet row, then :data:`MANY` wallets."""
    one = (ids["wallet_id"], ids["wallet_id"])
    return [
        Case("one", "one wallet row", (ids["sub"],), one, 0.50),
        Case("many", f"{MANY:,} wallets", ids["many_subs"], ids["many_wallets"], 0.40),
    ]


def client_token(base: str, secret: str) -> str:
    """A client-credentials token with ``credits:consume`` (it acts for the user)."""
    form = f"grant_type=client_credentials&scope={SCOPE}".encode()
    request = urllib.request.Request(f"{base}/oauth/token", data=form)
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    request.add_unredirected_header("Authorization", f"Basic {basic}")
    return json.load(urllib.request.urlopen(request, timeout=5))["access_token"]


def consume_once(url: str, token: str, key: str) -> tuple[int, dict]:
    body = json.dumps({"amount": 1, "service": "bench-check", "idempotency_key": key}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def check_consume(url: str, token: str) -> None:
    """One consume is 201, its retry 200 with the same entry: the load hits the real path."""
    key = "bench-check-" + secrets.token_hex(4)
    first, again = consume_once(url, token, key), consume_once(url, token, key)
    if first[0] != 201 or again[0] != 200:
        raise BenchError(f"consume check failed: {first} then {again}")
    if first[1]["transaction"]["id"] != again[1]["transaction"]["id"]:
        raise BenchError("the retry was not answered from the original entry")


# -- load ----------------------------------------------------------------------------------

ACTIVITY = """
SELECT count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE state = 'idle in transaction'),
       count(*) FILTER (WHERE wait_event_type = 'Lock')
FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


@contextmanager
def sessions(database_url: str, interval: float = 0.1):
    """Sample the database's sessions while the block runs; yields a dict that then holds
    the mean number running a statement, idle inside a transaction (the client is busy
    while the transaction holds its locks) and waiting for a lock (the wallet's row)."""
    samples, stop = [], threading.Event()

    def sample():
        with psycopg.connect(database_url, autocommit=True) as conn:
            while not stop.wait(interval):
                samples.append(conn.execute(ACTIVITY).fetchone())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    means: dict = {}
    try:
        yield means
    finally:
        stop.set()
        thread.join(timeout=5)
        for i, name in enumerate(("active", "idle_in_transaction", "lock_waits")):
            means[name] = sum(row[i] for row in samples) / max(len(samples), 1)


def api_loads(args: argparse.Namespace, env: dict, port: int, ids: dict) -> dict:
    """Serve with gunicorn and, for each case, check one consume, warm up, then measure."""
    # token_endpoint's server, without its cProfile hook (this bench profiles in-process).
    server = argparse.Namespace(
        workers=args.workers, worker_class=args.worker_class, threads=args.threads, profile=False
    )
    results = {}
    with gunicorn(env, port, server, cwd=args.tree) as (base, pgid):
        token = client_token(base, ids["secret"])
        for slot, case in enumerate(cases(ids)):
            check_consume(f"{base}{API_PATH}?user={case.subs[-1]}", token)
            print(f"{case.title}: consume checked (201, then 200 replaying it)", flush=True)
            results[case.name] = api_load(args, env, base, pgid, token, case, slot)
    return {**results, "token": token}


# With --start-at, case k is measured from start_at + k * this: its check and warm-up, its
# load and the second case's check fit in a slot.
def slot_seconds(args: argparse.Namespace) -> float:
    return args.duration + WARMUP_SECONDS + 15


def api_load(args, env: dict, base: str, pgid: int, token: str, case: Case, slot: int) -> dict:
    """wrk on ``case``'s users for ``--duration`` seconds, after a warm-up (and with
    ``--start-at``, from the start of its slot)."""

    def load(seconds: int, service: str) -> str:
        subs = "{" + ",".join(f'"{sub}"' for sub in case.subs) + "}"
        script = WRK_SCRIPT.format(
            subs=subs, token=token, run=secrets.token_hex(4), path=API_PATH, service=service
        )
        return wrk.run_script(
            base + API_PATH, script, seconds=seconds, connections=CONNECTIONS,
            threads=args.wrk_threads,
        )  # fmt: skip

    load(WARMUP_SECONDS, "bench-warmup")
    if args.start_at is not None:
        begin = args.start_at + slot * slot_seconds(args)
        if time.time() > begin + 1:
            raise BenchError("not ready by --start-at: give the runs more time to set up")
        time.sleep(max(0.0, begin - time.time()))
    print(f"load: {CONNECTIONS} connections for {args.duration} s...", flush=True)
    server0, wrk0 = group_cpu_seconds(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
    with sessions(env["DATABASE_URL"]) as activity:
        report = load(args.duration, case.service)
    server1, wrk1 = group_cpu_seconds(pgid), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(report, flush=True)
    result = wrk.parse(report)
    if result["seconds"] < 0.9 * args.duration:
        raise BenchError("wrk stopped before the end of the run")
    written, wallets = query(
        env["DATABASE_URL"],
        "SELECT count(*), count(DISTINCT wallet_id) FROM ledger_entries"
        " WHERE kind = 'consume' AND service = %s",
        case.service,
    )
    wrk_cpu = wrk1.ru_utime + wrk1.ru_stime - wrk0.ru_utime - wrk0.ru_stime
    return {
        **result,
        "entries_written": written,
        "wallets_written": wallets,
        "server_cpu_s": server1 - server0,
        "wrk_cpu_s": wrk_cpu,
        "sessions": activity,
        "report": report,
    }


def pgbench(args: argparse.Namespace, database_url: str, case: Case) -> dict:
    """pgbench with ``CONNECTIONS`` clients running the consume transaction in SQL alone,
    each transaction on a wallet of ``case``'s at random."""
    first, last = case.wallets
    print(f"pgbench, {case.title}: {CONNECTIONS} clients for {args.duration} s...", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT)
        script.flush()
        cmd = [
            "pgbench", "-n", "-h", "127.0.0.1", "-U", "postgres",
            "-c", str(CONNECTIONS), "-j", str(args.pgbench_jobs), "-T", str(args.duration),
            "-M", "prepared", "-D", f"first={first}", "-D", f"last={last}",
            "-D", f"actor=client:{CLIENT_ID}", "-f", script.name, args.database,
        ]  # fmt: skip
        with sessions(database_url) as activity:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60)
    if done.returncode:
        raise BenchError(f"pgbench failed:\n{done.stderr or done.stdout}")
    print(done.stdout, flush=True)
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.M)
    latency = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.M)
    if not tps or not latency:
        raise BenchError(f"unexpected pgbench output:\n{done.stdout}")
    return {
        "tps": float(tps.group(1)),
        "latency_ms": float(latency.group(1)),
        "failed": int(failed.group(1)) if failed else 0,
        "sessions": activity,
        "report": done.stdout,
    }


# -- profile -------------------------------------------------------------------------------

# (label, file suffix, function) whose cumulative time the profile summary shows.
HOTSPOTS = [
    ("whole request (Flask test client)", "flask/testing.py", "open"),
    ("token verification", "verification.py", "verify_access_token"),
    (
        "  RSA signature check",
        "~",
        "<method 'verify' of"
        " 'cryptography.hazmat.bindings._rust.openssl.rsa.RSAPublicKey' objects>",
    ),
    ("  deny-list lookup", "denylist.py", "is_revoked"),
    ("caller: user + consent in one query", "idp/oauth2/services.py", "user_and_granted_scopes"),
    ("ledger.spend (the write and its commit)", "wallet/ledger.py", "spend"),
    ("  UPDATE ... RETURNING + lot + INSERTs", "wallet/ledger.py", "_spend_with"),
    ("  commit", "sqlalchemy/orm/session.py", "commit"),
    ("entry as JSON (schemas.entry_to_dict)", "wallet/schemas.py", "entry_to_dict"),
    ("response JSON", "flask/json/__init__.py", "jsonify"),
    ("pool checkout incl. pre-ping", "sqlalchemy/pool/base.py", "_checkout"),
    ("psycopg wait (server round trips)", "psycopg/connection.py", "wait"),
]  # fmt: skip


def profile_consumes(env: dict, token: str, sub: str, count: int, out: Path) -> None:
    """cProfile ``count`` consumes through the test client in this process; print the top."""
    from sqlalchemy import event

    from idp import create_app
    from idp.core.extensions import db

    keys = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "IDP_ISSUER")
    app = create_app({k: env[k] for k in keys if k in env} | {"IDP_LOG_LEVEL": "WARNING"})
    http = app.test_client()
    path = f"{API_PATH}?user={sub}"
    statements = []

    def send(i: int):
        body = {"amount": 1, "service": "bench-profile", "idempotency_key": f"profile-{i}"}
        return http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    for i in range(50):  # warm caches: client, keys, pools
        send(-i - 1)
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    statuses = [send(i).status_code for i in range(count)]
    profiler.disable()
    elapsed = time.perf_counter() - started
    profiler.dump_stats(out)
    if set(statuses) != {201}:
        raise BenchError(f"profiled consumes answered {sorted(set(statuses))}")
    stats = pstats.Stats(str(out))
    print(f"\ncProfile: {count} consumes in-process, {1000 * elapsed / count:.2f} ms each")
    print(f"SQL statements per consume (excluding pool pre-ping): {len(statements) / count:.1f}")
    for text in sorted(set(statements), key=statements.index):
        print(f"  {statements.count(text) / count:.1f}x {' '.join(text.split())[:110]}")
    print("\nwhere the time goes (cumulative ms per consume; nested rows overlap):")
    for label, suffix, name in HOTSPOTS:
        total = sum(
            row[3]
            for (file, _, func), row in stats.stats.items()
            if func == name and file.endswith(suffix)
        )
        print(f"  {1000 * total / count:7.3f}  {label}")
    print(f"\ntop 25 by own time ({out.name}):")
    stats.sort_stats("tottime").print_stats(25)


# -- report --------------------------------------------------------------------------------


def audit(env: dict, tree: Path = ROOT) -> tuple[bool, str]:
    done = flask(env, "wallet", "audit", check=False, tree=tree)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def activity(found: dict) -> str:
    return (
        f"{found['active']:.1f} running a statement, {found['idle_in_transaction']:.1f} idle"
        f" in a transaction, {found['lock_waits']:.1f} waiting for a lock"
    )


def print_case(args: argparse.Namespace, result: dict, name: str) -> None:
    found, cores = result["cases"][name], result["cores"]
    api, pg = found["api"], found.get("pgbench")
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    server_ms = 1000 * api["server_cpu_s"] / max(api["requests"], 1)
    print(f"""
== POST {API_PATH}, {found["title"]} (app acting for a user, unique idempotency key per \
request) ==
server: gunicorn {args.workers} {args.worker_class} workers{threads}
load: wrk, {CONNECTIONS} connections, {args.duration} s, {api["requests"]} requests
consumes/s: {api["requests_per_s"]:.0f}
p50 ms: {api["p50_ms"]:.1f}
p99 ms: {api["p99_ms"]:.1f}
non-2xx: {api["non_2xx"]}
socket errors: {api["socket_errors"]}
ledger entries written by the measured load: {api["entries_written"]} \
(on {api["wallets_written"]} wallets)
server CPU ms/consume: {server_ms:.2f} ({cores} cores for the server alone: \
{cores * 1000 / server_ms:.0f}/s)
database sessions (mean): {activity(api["sessions"])}""")
    if pg is None:
        return  # --api-only
    print(f"""\
== pgbench, {found["title"]}: the same UPDATE ... RETURNING + INSERT in SQL alone ==
load: {CONNECTIONS} clients, {args.duration} s, -M prepared
tps: {pg["tps"]:.0f}
latency average ms: {pg["latency_ms"]:.2f}
failed transactions: {pg["failed"]}
database sessions (mean): {activity(pg["sessions"])}
ratio API/pgbench: {found["ratio"]:.0%}
goal (API >= {found["goal"]:.0%} of pgbench): {"met" if found["met"] else "not met"}""")


def print_summary(args: argparse.Namespace, result: dict) -> None:
    print(f"\nCPU busy before the run: {result['busy_before']:.0%} ({result['cores']} cores)")
    for name in result["cases"]:
        print_case(args, result, name)
    print(f"\nledger audit: {result['audit']}")


def summary_rows(result: dict) -> list[dict]:
    """One row per goal, for ``make bench``'s summary table (``--summary-json``)."""
    rows = []
    for found in result["cases"].values():
        api, pg = found["api"], found.get("pgbench")
        if pg is None:  # --api-only: the figure alone (bench/wallet_baseline.py reads it)
            figure = f"wallet consumes/s, {found['title']}"
            rows.append(summary.row(figure, round(api["requests_per_s"], 1), "consumes/s",
                                    "", 0, "", None))  # fmt: skip
            continue
        rows.append({
            "figure": f"wallet consumes/s, {found['title']} (API, {CONNECTIONS} connections)",
            "value": round(api["requests_per_s"], 1),
            "unit": "consumes/s",
            "peer": f"pgbench tps, the same UPDATE + INSERT in SQL, {found['title']}",
            "peer_value": round(pg["tps"], 1),
            "ratio": round(found["ratio"], 3),
            "goal": f">= {found['goal']:.2f}x",
            "met": found["met"],
        })  # fmt: skip
    return rows


def run(args: argparse.Namespace, stamp: str) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(create_database(args.database), port, instance)
        redis_url = env.get("REDIS_URL", "no Redis")
        print(f"provisioning {args.database} ({redis_url}) on {args.tree}...", flush=True)
        ids = provision(env, args.tree)
        try:
            api = api_loads(args, env, port, ids)
            token = api.pop("token")
            found = {}
            for case in cases(ids):
                found[case.name] = {"title": case.title, "api": api[case.name], "goal": case.goal}
                if args.api_only:
                    continue
                pg = pgbench(args, env["DATABASE_URL"], case)
                ratio = api[case.name]["requests_per_s"] / pg["tps"]
                found[case.name].update(pgbench=pg, ratio=ratio, met=ratio >= case.goal)
            if args.profile:
                out = RESULTS / f"{stamp}.prof"
                profile_consumes(env, token, ids["sub"], args.profile, out)
            clean, report = audit(env, args.tree)
        finally:
            if not args.keep_db:
                create_database(args.database, drop_only=True)
    return {"cases": found, "audit": report, "audit_clean": clean}


def main() -> int:
    args = parse_args()
    for tool in ("wrk", "pgbench"):
        if not shutil.which(tool):
            raise BenchError(f"{tool} not found (wrk: apt-get install -y wrk; pgbench: postgresql)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cores, busy = nproc(), busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be low", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"wallet_consume-{time.strftime('%Y%m%d-%H%M%S')}"
    if args.database != BENCH_DB:
        stamp += f"-{args.database}"  # runs side by side: one file each
    result = run(args, stamp) | {"cores": cores, "busy_before": busy}
    saved = {**result, "args": {k: str(v) for k, v in vars(args).items()}}
    (RESULTS / f"{stamp}.json").write_text(json.dumps(saved, indent=2))
    print_summary(args, result)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary_rows(result), indent=2) + "\n")
    # Goals met or not, the figures were measured (exit 0); anything else is an error.
    for found in result["cases"].values():
        if found["api"]["non_2xx"]:
            raise BenchError(f"{found['title']}: {found['api']['non_2xx']} non-2xx responses")
        if found.get("pgbench") and found["pgbench"]["failed"]:
            raise BenchError(f"{found['title']}: {found['pgbench']['failed']} pgbench failures")
    if not result["audit_clean"]:
        raise BenchError("the ledger audit found differences")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, wrk.WrkError) as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
