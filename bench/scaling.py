"""Scaling benchmark: token grants and credit consumes at 1, 2, 4 processes x 1k, 100k rows.

One run builds a PostgreSQL database with a schema per size; in each, the project's own
CLI makes a template user, a template app and the wallet app, and SQL grows it to 1,000
(or 100,000) registered users and apps: each user with a funded wallet, its ledger entry
and a consent to the wallet app, the template's one argon2id hash and one client-secret
hash for all.  gunicorn then serves each size at each process count in turn (the sizes
alternate, so the machine's load hits both alike) while wrk drives client-credentials
grants (100 clients picked among the registered ones) and consumes (users picked at
random).  A flat 100k/1k ratio shows that a request's cost does not grow with the data;
EXPLAIN of the statements one grant and one consume run shows the lookups that keep it
flat.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psycopg
import token_endpoint as te  # bench/token_endpoint.py: this script's folder is on sys.path
import wrk
from psycopg import sql

BENCH_DB = "bench_scale"  # dropped and re-created on every run; never the tests' database
REDIS_URL = "redis://127.0.0.1:6379/7"  # flushed at the start (rate limits, deny-list)
HERE = Path(__file__).resolve().parent
TEMPLATE_USER, TEMPLATE_APP = "scale-template@example.com", "scale-template"
WALLET_APP, WALLET_SCOPE = "scale-wallet", "credits:consume"
API_PATH = "/api/cross-app/credits/consume"
FUNDS = 10**9
GOAL_RATIO = 0.9
# The tables that grow with the registry: a sequential scan on one of them is a finding.
GROWING = ("users", "app_integrations", "wallets", "consents", "ledger_entries")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per load (5)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per load (2)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per point, median (1)")
    parser.add_argument("--procs", default="1,2,4", help="gunicorn worker counts (1,2,4)")
    parser.add_argument("--sizes", default="1000,100000", help="users and apps (1000,100000)")
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker (4)")
    parser.add_argument("--clients", type=int, default=100, help="clients the grants use (100)")
    parser.add_argument(
        "--hot-users", type=int, default=10_000, help="users the consumes pick from (10000)"
    )
    parser.add_argument("--summary-json", type=Path, metavar="PATH", help="write the goal rows")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {BENCH_DB} afterwards")
    args = parser.parse_args()
    args.procs = [int(p) for p in args.procs.split(",")]
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    return args


# -- database ------------------------------------------------------------------------------


def recreate_database(drop_only: bool = False) -> str:
    return te.create_database(BENCH_DB, drop_only)


def bench_env(port: int, instance: str) -> dict:
    """token_endpoint's server environment on this bench's database and Redis index."""
    return te.fresh_env(BENCH_DB, REDIS_URL, port, instance)


def provision(env: dict) -> dict:
    """Migrate, keys, and the templates every bulk row copies, made by the project's CLI."""
    te.flask_cli(env, "db upgrade")
    te.flask_cli(env, "keys ensure")
    password = secrets.token_urlsafe(18)
    te.flask_cli(env, f"users create --email {TEMPLATE_USER} --password {password} --verified")
    secrets_by_app = {}
    for client_id, scope in ((TEMPLATE_APP, "credits:read"), (WALLET_APP, WALLET_SCOPE)):
        out = te.flask_cli(
            env,
            f"apps create --name {client_id} --client-id {client_id} --type confidential"
            f" --scope {scope} --json",
        )
        secrets_by_app[client_id] = json.loads(out)["client_secret"]
    return secrets_by_app


# Rows n in [lo, hi) copy the template user (its argon2id hash: hashing 100,000 passwords
# would take hours) and the template app (its secret's SHA-256, as apps.services stores it),
# so every bulk client authenticates with the template's secret.
GROW = [
    """INSERT INTO users (sub, email, email_verified, password_hash, display_name, user_type,
         disabled, created_at, password_changed_at, updated_at)
       SELECT substr(md5('bulk-' || n), 1, 22), 'bulk-' || n || '@example.com', true,
         t.password_hash, 'Bulk user ' || n, t.user_type, false, now(), now(), now()
       FROM generate_series(%(lo)s, %(hi)s - 1) n, users t WHERE t.email = %(user)s""",
    """INSERT INTO app_integrations (client_id, name, client_type, client_secret_hash,
         secret_rotated_at, redirect_uris, allowed_origins, allowed_scopes, audience,
         access_token_lifetime, first_party, status, created_at, updated_at,
         refresh_token_idle_lifetime, refresh_token_absolute_lifetime,
         post_logout_redirect_uris, logo_uri, refresh_reuse_grace_seconds)
       SELECT 'bulk-' || n, 'Bulk app ' || n, t.client_type, t.client_secret_hash,
         t.secret_rotated_at, t.redirect_uris, t.allowed_origins, t.allowed_scopes,
         'bulk-' || n, t.access_token_lifetime, t.first_party, t.status, now(), now(),
         t.refresh_token_idle_lifetime, t.refresh_token_absolute_lifetime,
         t.post_logout_redirect_uris, t.logo_uri, t.refresh_reuse_grace_seconds
       FROM generate_series(%(lo)s, %(hi)s - 1) n, app_integrations t
       WHERE t.client_id = %(app)s""",
    """INSERT INTO wallets (user_id, balance, held, created_at, updated_at)
       SELECT u.id, %(funds)s, 0, now(), now() FROM users u
       WHERE u.email LIKE 'bulk-%%'
         AND NOT EXISTS (SELECT FROM wallets w WHERE w.user_id = u.id)""",
    # Each balance with the grant entry that explains it (the ledger stays auditable).
    """INSERT INTO ledger_entries (wallet_id, kind, amount, held_delta, balance_after,
         held_after, actor, reason, created_at)
       SELECT w.id, 'promo_grant', %(funds)s, 0, %(funds)s, 0, 'admin:bench', 'bench', now()
       FROM wallets w WHERE NOT EXISTS (SELECT FROM ledger_entries e WHERE e.wallet_id = w.id)""",
    """INSERT INTO consents (user_id, client_id, scopes, granted_at, updated_at)
       SELECT u.id, CAST(%(wallet_app)s AS varchar), CAST(%(scopes)s AS json), now(), now()
       FROM users u
       WHERE u.email LIKE 'bulk-%%' AND NOT EXISTS (
         SELECT FROM consents c WHERE c.user_id = u.id AND c.client_id = %(wallet_app)s)""",
]


def grow(database_url: str, lo: int, hi: int) -> float:
    """Bulk-insert users and apps ``lo``..``hi - 1`` in one transaction; returns seconds."""
    started = time.perf_counter()
    params = {
        "lo": lo, "hi": hi, "user": TEMPLATE_USER, "app": TEMPLATE_APP, "funds": FUNDS,
        "wallet_app": WALLET_APP, "scopes": json.dumps([WALLET_SCOPE]),
    }  # fmt: skip
    with psycopg.connect(database_url) as conn:
        for statement in GROW:
            conn.execute(statement, params)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # the planner sees the new sizes, as autovacuum would
    return time.perf_counter() - started


def picks(database_url: str, clients: int, users: int) -> tuple[list[str], list[str]]:
    """Random bulk clients for the grants and random users' subs for the consumes."""
    with psycopg.connect(database_url) as conn:
        ids = conn.execute(
            "SELECT client_id FROM app_integrations WHERE client_id LIKE 'bulk-%%'"
            " ORDER BY random() LIMIT %s",
            (clients,),
        ).fetchall()
        subs = conn.execute(
            "SELECT sub FROM users WHERE email LIKE 'bulk-%%' ORDER BY random() LIMIT %s",
            (users,),
        ).fetchall()
    return [i for (i,) in ids], [s for (s,) in subs]


# -- loads ---------------------------------------------------------------------------------


def post(url: str, data: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data)
    for name, value in headers.items():
        request.add_unredirected_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def wallet_token(base: str, secret: str) -> str:
    """The wallet app's client-credentials token with ``credits:consume`` (acts for users)."""
    form = f"grant_type=client_credentials&scope={WALLET_SCOPE}".encode()
    status, body = post(
        f"{base}/oauth/token", form, {"Authorization": f"Basic {basic(WALLET_APP, secret)}"}
    )
    if status != 200:
        raise te.BenchError(f"wallet app token: {status} {body}")
    return body["access_token"]


def basic(client_id: str, secret: str) -> str:
    """HTTP Basic credentials (RFC 6749 section 2.3.1)."""
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def grants_lua(clients: list[str], secret: str) -> str:
    credentials = ", ".join(f'"Basic {basic(c, secret)}"' for c in clients)
    return f"local credentials = {{{credentials}}}\n" + (HERE / "scaling_grants.lua").read_text()


def consumes_lua(token: str, subs: list[str]) -> str:
    preamble = (
        f'local token, run, path = "{token}", "{secrets.token_hex(4)}", "{API_PATH}?user="\n'
        f"local subs = {{{', '.join(json.dumps(s) for s in subs)}}}\n"
    )
    return preamble + (HERE / "scaling_consumes.lua").read_text()


def check_once(base: str, secrets_by_app: dict, client: str, sub: str) -> str:
    """One grant by a bulk client and one consume for a bulk user answer as they should."""
    form = b"grant_type=client_credentials"
    credentials = basic(client, secrets_by_app[TEMPLATE_APP])
    status, body = post(f"{base}/oauth/token", form, {"Authorization": f"Basic {credentials}"})
    if status != 200:
        raise te.BenchError(f"grant for bulk client {client}: {status} {body}")
    token = wallet_token(base, secrets_by_app[WALLET_APP])
    data = json.dumps({"amount": 1, "service": "bench-check", "idempotency_key": "check"})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, body = post(f"{base}{API_PATH}?user={sub}", data.encode(), headers)
    if status not in (200, 201):  # 200: the same check replayed at an earlier point
        raise te.BenchError(f"consume for bulk user {sub}: {status} {body}")
    return token


def measure(url: str, lua: Callable[[], str], pgid: int, args: argparse.Namespace) -> dict:
    """Warm up, then one wrk run; its figures with the server's CPU ms per request.
    ``lua`` gives each wrk run its script (the consumes' run id: no key is used twice)."""
    run = lambda seconds: wrk.run_script(  # noqa: E731
        url, lua(), seconds=seconds, connections=te.CONNECTIONS, threads=1
    )
    run(args.warmup)
    cpu0 = te.group_cpu_seconds(pgid)
    report = run(args.duration)
    cpu1 = te.group_cpu_seconds(pgid)
    result = wrk.parse(report)
    if not result["requests"] or result["seconds"] < 0.9 * args.duration:
        raise te.BenchError(f"wrk stopped early or completed nothing:\n{report}")
    result["server_ms"] = 1000 * (cpu1 - cpu0) / result["requests"]
    return result


def point(env: dict, procs: int, chosen: tuple, secrets_by_app: dict, args) -> dict:
    """Serve with ``procs`` workers; measure grants, then consumes."""
    clients, subs = chosen
    port = te.free_port()
    env = {**env, "IDP_ISSUER": f"http://127.0.0.1:{port}"}
    server = argparse.Namespace(
        workers=procs, worker_class="gthread", threads=args.threads, profile=False
    )
    with te.gunicorn(env, port, server) as (base, pgid):
        token = check_once(base, secrets_by_app, clients[0], subs[0])
        grants_script = grants_lua(clients, secrets_by_app[TEMPLATE_APP])
        grants = measure(f"{base}/oauth/token", lambda: grants_script, pgid, args)
        consumes = measure(f"{base}{API_PATH}", lambda: consumes_lua(token, subs), pgid, args)
    return {"grants": grants, "consumes": consumes}


# -- EXPLAIN of the hot statements -------------------------------------------------------


def hot_statements(env: dict, secrets_by_app: dict, client: str, sub: str) -> list:
    """The SQL (with parameters) of one grant by an uncached client and one consume, run
    in-process through Flask's test client against the bench database."""
    from sqlalchemy import event

    from idp import create_app
    from idp.core.extensions import db

    keys = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "IDP_ISSUER")
    app = create_app({k: env[k] for k in keys if k in env} | {"IDP_LOG_LEVEL": "WARNING"})
    http = app.test_client()
    seen: list[tuple[str, str, object]] = []
    with app.app_context():
        event.listen(
            db.engine, "before_cursor_execute", lambda c, cur, s, p, *a: seen.append((s, p))
        )

    def authorization(client_id: str, app: str) -> dict:
        return {"Authorization": f"Basic {basic(client_id, secrets_by_app[app])}"}

    form = {"grant_type": "client_credentials"}
    grant = http.post("/oauth/token", data=form, headers=authorization(client, TEMPLATE_APP))
    statements = [("grant", s, p) for s, p in seen]
    wallet = http.post(
        "/oauth/token",
        data=form | {"scope": WALLET_SCOPE},
        headers=authorization(WALLET_APP, WALLET_APP),
    )
    token = wallet.get_json()["access_token"]
    seen.clear()
    body = {"amount": 1, "service": "bench-explain", "idempotency_key": secrets.token_hex(8)}
    consume = http.post(
        f"{API_PATH}?user={sub}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    if grant.status_code != 200 or consume.status_code != 201:
        raise te.BenchError(f"in-process grant {grant.status_code}, consume {consume.status_code}")
    return statements + [("consume", s, p) for s, p in seen]


def explain(database_url: str, statements: list) -> list[dict]:
    """EXPLAIN each data statement (plans only: nothing is executed); the scan lines."""
    plans = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = psycopg.ClientCursor(conn)  # parameters inlined client-side, as psql shows them
        for where, statement, params in statements:
            verb = statement.lstrip().split(None, 1)[0].upper()
            if verb not in ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH"):
                continue
            cursor.execute("EXPLAIN " + statement, params or None)
            lines = [row[0] for row in cursor.fetchall()]
            scans = [line.strip().lstrip("-> ") for line in lines if "Scan" in line]
            seq = [s for s in scans if s.startswith("Seq Scan") and any(t in s for t in GROWING)]
            plans.append(
                {"where": where, "sql": " ".join(statement.split()), "scans": scans, "seq": seq}
            )
    return plans


# -- report --------------------------------------------------------------------------------


def print_curve(results: dict, args: argparse.Namespace) -> None:
    print(f"\n== the curve: gunicorn gthread x {args.threads} threads, wrk 16 connections ==")
    header = f"{'rows':>8} {'procs':>5} | {'grants/s':>8} {'p99 ms':>7} {'CPU ms':>6}"
    print(header + f" | {'consumes/s':>10} {'p99 ms':>7} {'CPU ms':>6} | non-2xx g/c")
    for (size, procs), r in sorted(results.items()):
        g, c = r["grants"], r["consumes"]
        print(
            f"{size:>8} {procs:>5} | {g['requests_per_s']:>8.0f} {g['p99_ms']:>7.1f}"
            f" {g['server_ms']:>6.2f} | {c['requests_per_s']:>10.0f} {c['p99_ms']:>7.1f}"
            f" {c['server_ms']:>6.2f} | {g['non_2xx']}/{c['non_2xx']}"
        )


def rows_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def ratio_rows(results: dict, args: argparse.Namespace) -> list[dict]:
    """Per process count and load: the largest size's throughput over the smallest's."""
    small, large = args.sizes[0], args.sizes[-1]
    rows = []
    for procs in args.procs:
        for load, unit in (("grants", "grants/s"), ("consumes", "consumes/s")):
            a, b = results[(small, procs)][load], results[(large, procs)][load]
            ratio = b["requests_per_s"] / a["requests_per_s"]
            sizes = f"{rows_label(large)} / {rows_label(small)} rows"
            rows.append({
                "figure": f"{unit} at {sizes} ({procs} procs)",
                "value": round(b["requests_per_s"], 1),
                "unit": unit,
                "peer": f"{unit} at {rows_label(small)} rows, same run",
                "peer_value": round(a["requests_per_s"], 1),
                "ratio": round(ratio, 3),
                "goal": f">= {GOAL_RATIO}x",
                "met": ratio >= GOAL_RATIO and not (a["non_2xx"] or b["non_2xx"]),
            })  # fmt: skip
    return rows


def print_ratios(rows: list[dict], results: dict, args: argparse.Namespace) -> None:
    print("\n== largest / smallest size (flat = the cost does not grow with the data) ==")
    small, large = args.sizes[0], args.sizes[-1]
    loads = [(procs, load) for procs in args.procs for load in ("grants", "consumes")]
    for row, (procs, load) in zip(rows, loads, strict=True):
        before, after = results[(small, procs)][load], results[(large, procs)][load]
        print(
            f"  {row['figure']:<40} {row['ratio']:.2f}x   server CPU/request"
            f" {after['server_ms'] / before['server_ms']:.2f}x"
            f"   goal {row['goal']}: {'met' if row['met'] else 'not met'}"
        )


def print_plans(plans: list[dict], size: int) -> None:
    print(f"\n== EXPLAIN of one grant (uncached client) and one consume, at {size} rows ==")
    for plan in plans:
        print(f"  [{plan['where']}] {plan['sql'][:96]}")
        for scan in plan["scans"] or ["(no table scan: an insert, or a constant)"]:
            print(f"      {scan}")
    seq = [s for p in plans for s in p["seq"]]
    print(
        f"sequential scans of tables that grow with users and apps: {len(seq)}"
        + (f" ({'; '.join(seq)})" if seq else " (every such lookup uses an index)")
    )
    print("(a few-row table, signing keys or an empty deny-list, is rightly read whole)")


# -- run -----------------------------------------------------------------------------------


def schema_env(env: dict, size: int) -> dict:
    """A schema of its own for ``size`` rows; the server reaches it through search_path."""
    name = f"rows_{size}"
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return {**env, "DATABASE_URL": f"{env['DATABASE_URL']}?options=-csearch_path%3D{name}"}


def prepare(env: dict, size: int, args: argparse.Namespace) -> dict:
    """Migrate and provision one schema, grow it to ``size``; pick the loads' rows."""
    env = schema_env(env, size)
    secrets_by_app = provision(env)
    seconds = grow(env["DATABASE_URL"], 1, size + 1)
    print(f"{size} users and apps in place ({seconds:.1f} s of inserts)", flush=True)
    chosen = picks(env["DATABASE_URL"], args.clients, args.hot_users)
    return {"env": env, "secrets": secrets_by_app, "chosen": chosen}


def median_point(points: list[dict]) -> dict:
    """Per load, the median of each figure over the rounds (non-2xx summed)."""
    merged = {}
    for load in ("grants", "consumes"):
        runs = [p[load] for p in points]
        merged[load] = {
            key: statistics.median(r[key] for r in runs)
            for key in ("requests_per_s", "p50_ms", "p99_ms", "server_ms")
        } | {"non_2xx": sum(r["non_2xx"] for r in runs), "runs": runs}
    return merged


def run(args: argparse.Namespace) -> tuple[dict, list]:
    """Every size in its own schema of one database, then the loads: for each process
    count the sizes alternate (A B, then B A), so a change in the machine's load hits
    both sizes alike."""
    samples: dict[tuple[int, int], list] = {size_procs: [] for size_procs in _grid(args)}
    port = te.free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = bench_env(port, instance)
        try:
            print(f"provisioning {BENCH_DB} ({env.get('REDIS_URL', 'no Redis')})...", flush=True)
            data = {size: prepare(env, size, args) for size in args.sizes}
            for round_ in range(args.rounds):
                for procs in args.procs:
                    order = args.sizes if (round_ + procs) % 2 == 0 else args.sizes[::-1]
                    for size in order:
                        print(
                            f"  round {round_ + 1}: {size} rows, {procs} process(es)...", flush=True
                        )
                        one = data[size]
                        samples[(size, procs)].append(
                            point(one["env"], procs, one["chosen"], one["secrets"], args)
                        )
            largest = data[args.sizes[-1]]
            client, sub = largest["chosen"][0][-1], largest["chosen"][1][-1]
            statements = hot_statements(largest["env"], largest["secrets"], client, sub)
            plans = explain(largest["env"]["DATABASE_URL"], statements)
        finally:
            if not args.keep_db:
                recreate_database(drop_only=True)
    return {key: median_point(points) for key, points in samples.items()}, plans


def _grid(args: argparse.Namespace) -> list[tuple[int, int]]:
    return [(size, procs) for size in args.sizes for procs in args.procs]


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: gunicorn is stopped
    busy = te.busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be low", flush=True)
    results, plans = run(args)
    print_curve(results, args)
    rows = ratio_rows(results, args)
    print_ratios(rows, results, args)
    print_plans(plans, args.sizes[-1])
    te.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    saved = {f"{s}x{p}": r for (s, p), r in results.items()}
    (te.RESULTS / f"scaling-{stamp}.json").write_text(
        json.dumps({"results": saved, "rows": rows, "plans": plans, "busy_before": busy}, indent=2)
    )
    if args.summary_json:
        args.summary_json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (te.BenchError, wrk.WrkError) as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
