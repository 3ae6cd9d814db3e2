"""Token endpoint against node oidc-provider: both servers, driven alternately by wrk.

Our server is set up and served as bench/token_endpoint.py does it (its functions, on
database ``bench_cmp`` and Redis database 15); the peer is node ``oidc-provider``
(bench/peer/, in-memory, RS256 JWT access tokens).  wrk drives them in turn, A B A B A B,
so a change in the machine's load hits both alike; the median of the per-round ratios is
set against the issue's goals.  See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import jwt
import psycopg
import summary  # bench/summary.py
import token_endpoint as te  # bench/token_endpoint.py: this script's folder is on sys.path
import wrk

PEER_DIR = te.ROOT / "bench" / "peer"
PEER_CLIENT_ID, PEER_SECRET = "bench", "bench-peer-secret"
PEER_RESOURCE = "urn:idp-bench:api"
REFRESH_CLIENT_ID, REFRESH_SCOPE = "bench-refresh", "offline_access credits:read"
REFRESH_LUA = te.ROOT / "bench" / "refresh_chain.lua"
GOAL_CC_RATIO, GOAL_P99_MS, GOAL_REFRESH_RATIO = 1.0, 50.0, 0.8

# Our server's refresh tokens, as the token endpoint would hand them out after an
# authorization-code grant with offline_access (a real consent row, the server's own token
# generator, each token the first of its own family).  Prints them as a JSON list.
MINT_SNIPPET = """\
import json, secrets, sys
from idp import create_app
from idp.apps.services import query_client
from idp.core.db_types import utcnow
from idp.oauth2 import services as oauth
from idp.oauth2.server import authorization_server
from idp.users import services as users

sub, client_id, scope, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with create_app().app_context():
    user = users.by_sub(sub)
    oauth.grant_consent(user.id, client_id, scope)
    client = query_client(client_id)
    tokens = []
    for _ in range(n):
        subject = oauth.Subject(user.id, user.sub, utcnow())
        token = authorization_server().generate_token(
            "authorization_code", client, subject, scope, include_refresh_token=True
        )
        oauth.save_refresh_token(
            token["refresh_token"], client, subject, scope, secrets.token_hex(16)
        )
        tokens.append(token["refresh_token"])
print(json.dumps(tokens))
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per grant (default 3)")
    parser.add_argument("--workers", type=int, default=te.nproc(), help="default: nproc")
    parser.add_argument("--worker-class", default="gthread", help="default: gthread")
    parser.add_argument("--threads", type=int, default=4, help="per worker (default 4)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk shares the cores too")
    parser.add_argument("--no-refresh", action="store_true", help="client credentials only")
    parser.add_argument(
        "--server", choices=["gunicorn", "granian"], default="granian", help="default: granian"
    )
    parser.add_argument(
        "--summary-json", metavar="PATH", help="write the goal rows (bench/summary.py)"
    )
    args = parser.parse_args()
    args.profile = False  # token_endpoint.gunicorn reads it
    if args.worker_class != "gthread":
        args.threads = 1
    return args


def ensure_peer_installed() -> None:
    """``npm ci`` in bench/peer/ when its node_modules is missing (the lock file pins it)."""
    if (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    print("npm ci in bench/peer/ ...", flush=True)
    cmd = ["npm", "ci", "--no-audit", "--no-fund"]
    done = subprocess.run(cmd, cwd=PEER_DIR, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise te.BenchError(f"npm ci failed:\n{done.stderr or done.stdout}")


@contextmanager
def peer(port: int) -> Iterator[tuple[str, int]]:
    """Serve node oidc-provider on loopback until the block exits; yields (base, pgid)."""
    env = {**os.environ, "PEER_CLIENT_SECRET": PEER_SECRET, "NODE_ENV": "production"}
    cmd = ["node", "server.js", str(port)]
    ready = "/.well-known/openid-configuration"
    with te.served(cmd, env, port, "oidc-provider", PEER_DIR, ready, quiet=True) as up:
        yield up


def post_form(url: str, form: str, basic: str) -> dict:
    request = urllib.request.Request(url, data=form.encode())
    request.add_unredirected_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise te.BenchError(f"{url}: {exc.code} {exc.read()!r}") from None


def verify_jwt(token: str, jwks_url: str, audience: str, issuer: str) -> dict:
    """An RS256 ``at+jwt`` access token that verifies against the server's JWKS."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "at+jwt" or header.get("alg") != "RS256":
        raise te.BenchError(f"unexpected token header {header}")
    key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience, issuer=issuer)


def basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def refresh_lua(tokens: list[str], authorization: str) -> str:
    """bench/refresh_chain.lua with this run's first refresh tokens."""
    seeds = ", ".join(json.dumps(t) for t in tokens)
    return (
        f'local authorization = "{authorization}"\nlocal seeds = {{{seeds}}}\n'
        + REFRESH_LUA.read_text()
    )


class Side:
    """One server under test: how to run wrk against it for one grant type."""

    def __init__(self, name: str, base: str, pgid: int, token_path: str):
        self.name, self.base, self.pgid, self.url = name, base, pgid, base + token_path
        self.cc_body = ""
        self.cc_basic = ""
        self.refresh_basic = ""
        self.mint: Callable[[int], list[str]] = lambda n: []

    def load(self, grant: str, seconds: int, args: argparse.Namespace) -> dict:
        """One wrk run; the report parsed, with the server's CPU per request."""
        if grant == "client_credentials":
            lua = wrk.SCRIPT.format(body=self.cc_body, authorization=f"Basic {self.cc_basic}")
            threads = args.wrk_threads
        else:  # refresh_token: the tokens of one thread's chains are in that thread's Lua
            lua = refresh_lua(self.mint(2 * te.CONNECTIONS), f"Basic {self.refresh_basic}")
            threads = 1
        cpu0 = te.group_cpu_seconds(self.pgid)
        rusage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = wrk.run_script(
            self.url, lua, seconds=seconds, connections=te.CONNECTIONS, threads=threads
        )
        cpu1 = te.group_cpu_seconds(self.pgid)
        rusage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = wrk.parse(report)
        if result["seconds"] < 0.9 * seconds:
            raise te.BenchError("wrk stopped before the end of the run")
        if not result["requests"]:
            raise te.BenchError(f"{self.name}: no request completed:\n{report}")
        wrk_cpu = sum(getattr(rusage1, f) - getattr(rusage0, f) for f in ("ru_utime", "ru_stime"))
        result["server_ms"] = 1000 * (cpu1 - cpu0) / result["requests"]
        result["wrk_ms"] = 1000 * wrk_cpu / result["requests"]
        return result


def flask(env: dict, *args: str) -> str:
    """``flask --app wsgi ARGS`` (arguments kept whole, unlike token_endpoint.flask_cli)."""
    cmd = [str(te.BIN / "flask"), "--app", "wsgi", *args]
    done = subprocess.run(cmd, cwd=te.ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise te.BenchError(f"flask {' '.join(args)} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def setup_ours(env: dict, base: str, pgid: int, credentials: str) -> Side:
    """Our side: te.provision's app for client credentials, a user and an app for refresh."""
    side = Side("ours", base, pgid, "/oauth/token")
    side.cc_body, side.cc_basic = "grant_type=client_credentials", credentials
    token = post_form(side.url, side.cc_body, credentials)["access_token"]
    verify_jwt(token, f"{base}/.well-known/jwks.json", te.CLIENT_ID, env["IDP_ISSUER"])
    side.refresh_basic, side.mint = refresh_client(env)
    return side


def refresh_client(env: dict) -> tuple[str, Callable[[int], list[str]]]:
    """A verified user and the ``bench-refresh`` app: its HTTP Basic credentials, and a
    function minting ``n`` refresh tokens for that user (each the first of its family)."""
    password = base64.urlsafe_b64encode(os.urandom(18)).decode()
    user = flask(
        env, "users", "create", "--email", "bench@example.com", "--password", password,
        "--verified", "--json",
    )  # fmt: skip
    sub = json.loads(user)["sub"]
    app = flask(
        env, "apps", "create", "--name", "bench refresh", "--client-id", REFRESH_CLIENT_ID,
        "--redirect-uri", "http://127.0.0.1/callback", "--scope", REFRESH_SCOPE, "--json",
    )  # fmt: skip

    def mint(n: int) -> list[str]:
        cmd = [str(te.BIN / "python"), "-c", MINT_SNIPPET, sub, REFRESH_CLIENT_ID]
        cmd += [REFRESH_SCOPE, str(n)]
        done = subprocess.run(
            cmd, cwd=te.ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        if done.returncode:
            raise te.BenchError(f"minting refresh tokens failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return basic(REFRESH_CLIENT_ID, json.loads(app)["client_secret"]), mint


def setup_peer(base: str, pgid: int) -> Side:
    side = Side("oidc-provider", base, pgid, "/token")
    side.cc_body = "grant_type=client_credentials&scope=credits:read"
    side.cc_basic = side.refresh_basic = basic(PEER_CLIENT_ID, PEER_SECRET)
    token = post_form(side.url, side.cc_body, side.cc_basic)["access_token"]
    verify_jwt(token, f"{base}/jwks", PEER_RESOURCE, base)

    def mint(n: int) -> list[str]:
        request = urllib.request.Request(f"{base}/bench/refresh-tokens?n={n}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["refresh_tokens"]

    side.mint = mint
    return side


def check_refresh(side: Side) -> None:
    """A minted token refreshes into an RS256 JWT and a new token; the old one then fails."""
    (first,) = side.mint(1)
    form = f"grant_type=refresh_token&refresh_token={first}"
    issued = post_form(side.url, form, side.refresh_basic)
    header = jwt.get_unverified_header(issued["access_token"])
    if header.get("alg") != "RS256":
        raise te.BenchError(f"{side.name}: refresh gave no RS256 JWT: {header}")
    if not issued.get("refresh_token") or issued["refresh_token"] == first:
        raise te.BenchError(f"{side.name} did not rotate the refresh token: {issued}")
    try:
        post_form(side.url, form, side.refresh_basic)
    except te.BenchError:
        return
    raise te.BenchError(f"{side.name} accepted a rotated refresh token again")


# PostgreSQL alone running what one of our refresh grants runs (bench/README.md): the
# token and its user, the claim, the successor's INSERT, the roles, the hand-over, one
# commit.  Each transaction takes one of SEEDED families at random (our load chains one
# family per connection, so rows are rarely contended either way).  pgbench reads every
# ":word" as a variable, hence CAST(... AS text) for the casts.
SEEDED = 10_000
SEED_FAMILIES = """
INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, session_id, scope,
    auth_time, created_at, expires_at, family_expires_at)
  SELECT md5(CAST(n AS text)) || md5(CAST(-n AS text)), md5(CAST(n AS text)), client_id, user_id,
    session_id, scope, auth_time, created_at, expires_at, family_expires_at
  FROM refresh_tokens, generate_series(1, %s) AS n WHERE id = %s
"""
PGBENCH_REFRESH = """\
\\set id random(:first, :last)
BEGIN;
SELECT t.*, u.* FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = :id;
UPDATE refresh_tokens SET used_at = now() WHERE id = :id AND revoked_at IS NULL;
INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, session_id, scope,
    auth_time, created_at, expires_at, family_expires_at, parent_id)
  SELECT md5(CAST(random() AS text)) || md5(CAST(random() AS text)), family_id, client_id,
    user_id, session_id, scope, auth_time, now(), expires_at, family_expires_at, id
  FROM refresh_tokens WHERE id = :id RETURNING id AS successor \\gset
SELECT role FROM user_app_roles WHERE user_id = 1 AND client_id = 'bench-refresh' ORDER BY role;
UPDATE refresh_tokens SET token_hash = md5(CAST(random() AS text)) || md5(CAST(random() AS text)),
    access_jti = 'pgbench', access_exp = 0
  WHERE id = :successor RETURNING client_id, revoked_at, revoke_reason;
END;
"""


def pgbench_refresh(database_url: str, seconds: int) -> float:
    """tps of PGBENCH_REFRESH with ``te.CONNECTIONS`` clients on the bench database: the
    ceiling PostgreSQL itself sets for a refresh that is stored durably, on these cores."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        (template,) = conn.execute("SELECT min(id) FROM refresh_tokens").fetchone()
        conn.execute(SEED_FAMILIES, (SEEDED, template))
        first, last = conn.execute(
            "SELECT min(id), max(id) FROM refresh_tokens WHERE id > %s", (template,)
        ).fetchone()
        conn.execute("VACUUM ANALYZE refresh_tokens")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_REFRESH)
        script.flush()
        cmd = [
            "pgbench", "-n", "-h", "127.0.0.1", "-U", "postgres", "-c", str(te.CONNECTIONS),
            "-T", str(seconds), "-M", "prepared", "-D", f"first={first}", "-D", f"last={last}",
            "-f", script.name, te.BENCH_DB,
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.M)
    if done.returncode or not tps:
        raise te.BenchError(f"pgbench failed:\n{done.stderr or done.stdout}")
    return float(tps.group(1))


def alternate(grant: str, ours: Side, theirs: Side, args: argparse.Namespace) -> list[dict]:
    """Warm both up, then A B A B ...; one row per run."""
    for side in (ours, theirs):
        side.load(grant, te.WARMUP_SECONDS, args)
    rows = []
    for n in range(1, args.rounds + 1):
        for side in (ours, theirs):
            result = side.load(grant, args.duration, args)
            rows.append({"grant": grant, "round": n, "server": side.name, **result})
            print(
                f"  {grant} round {n} {side.name:>13}: {result['requests_per_s']:7.0f}/s"
                f"  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                f"  non-2xx {result['non_2xx']}  server CPU {result['server_ms']:.2f} ms/req",
                flush=True,
            )
    return rows


def rates(rows: list[dict]) -> str:
    return " ".join(f"{r['requests_per_s']:.0f}" for r in rows)


def verdict(grant: str, rows: list[dict], goal_ratio: float, p99_goal: bool) -> dict:
    """The medians of one grant's alternating runs, and whether the goal is met."""
    ours = [r for r in rows if r["grant"] == grant and r["server"] == "ours"]
    peer = [r for r in rows if r["grant"] == grant and r["server"] != "ours"]
    ratios = [a["requests_per_s"] / b["requests_per_s"] for a, b in zip(ours, peer, strict=True)]
    ratio = statistics.median(ratios)
    p99 = statistics.median(r["p99_ms"] for r in ours)
    errors = sum(r["non_2xx"] for r in ours + peer)
    met = ratio >= goal_ratio and (not p99_goal or p99 < GOAL_P99_MS) and not errors
    goal = f">= {goal_ratio:.1f}x" + (f", p99 < {GOAL_P99_MS:.0f} ms" if p99_goal else "")
    return {
        "ours": ours, "peer": peer, "ratios": ratios, "ratio": ratio, "p99": p99,
        "errors": errors, "met": met, "goal": goal,
    }  # fmt: skip


def summary_row(grant: str, v: dict, args: argparse.Namespace) -> dict:
    """``make bench``'s row: the median of our runs beside the peer's (the ratio shown is
    that of the medians; the goal is judged on the median of per-round ratios)."""
    ours = statistics.median(r["requests_per_s"] for r in v["ours"])
    theirs = statistics.median(r["requests_per_s"] for r in v["peer"])
    figure = f"{grant} grants/s ({served(args)}; p99 {v['p99']:.0f} ms)"
    return summary.row(figure, ours, "/s", "oidc-provider", theirs, v["goal"], v["met"])


def summarize(grant: str, rows: list[dict], goal_ratio: float, p99_goal: bool) -> list[str]:
    v = verdict(grant, rows, goal_ratio, p99_goal)
    ours, peer, ratios, ratio, p99 = v["ours"], v["peer"], v["ratios"], v["ratio"], v["p99"]
    errors, met, goal = v["errors"], v["met"], v["goal"]
    lines = [
        f"{grant}: ours {rates(ours)} grants/s, oidc-provider {rates(peer)} grants/s",
        f"  per-round ratios ours/peer: {' '.join(f'{x:.2f}' for x in ratios)};"
        f" median {ratio:.2f}x",
        f"  ours p99 (median of runs): {p99:.1f} ms;"
        f" peer p99: {statistics.median(r['p99_ms'] for r in peer):.1f} ms",
        f"  goal ({goal}): {'met' if met and not errors else 'not met'}"
        + (f"  ({errors} non-2xx responses: figures not trustworthy)" if errors else ""),
    ]
    return lines


def main() -> int:
    args = parse_args()
    for tool in ("wrk", "node", "npm"):
        if not shutil.which(tool):
            raise te.BenchError(f"{tool} not found (bench/README.md: what compare.py needs)")
    ensure_peer_installed()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    te.BENCH_DB, te.REDIS_URL = "bench_cmp", "redis://127.0.0.1:6379/15"
    cores, busy = te.nproc(), te.busy_share()
    if busy > 0.1:
        print(f"warning: CPU {busy:.0%} busy before the run; figures will be low", flush=True)
    grants = ["client_credentials"] + ([] if args.no_refresh else ["refresh_token"])
    port, peer_port = te.free_port(), te.free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = te.server_env(te.create_database(), port, instance)
        print(f"provisioning {te.BENCH_DB} ({env.get('REDIS_URL', 'no Redis')})...", flush=True)
        credentials = te.provision(env)
        with te.server(env, port, args) as (base, pgid), peer(peer_port) as (pbase, ppgid):
            ours, theirs = setup_ours(env, base, pgid, credentials), setup_peer(pbase, ppgid)
            print("both servers issue RS256 JWT access tokens that verify with their JWKS")
            if "refresh_token" in grants:
                for side in (ours, theirs):
                    check_refresh(side)
                print("both rotate refresh tokens and refuse a rotated one")
            rows = []
            for grant in grants:
                print(f"{grant}: wrk {te.CONNECTIONS} connections, {args.duration} s per run")
                rows += alternate(grant, ours, theirs, args)
        ceiling = None
        if "refresh_token" in grants:  # with both servers stopped: the cores to itself
            print(f"pgbench: our refresh transaction in SQL alone, {args.duration} s", flush=True)
            ceiling = pgbench_refresh(env["DATABASE_URL"], args.duration)
    threads = f" x {args.threads} threads" if args.threads > 1 else ""
    print(f"""
== token endpoint vs node oidc-provider (same run, alternating) ==
date: {time.strftime("%Y-%m-%d %H:%M %Z")}; cores: {cores}; CPU busy before: {busy:.0%}
ours: {served(args)}{threads}, PostgreSQL + Redis
peer: oidc-provider {peer_version()} on node {node_version()}, in-memory adapter""")
    goals = {
        "client_credentials": (GOAL_CC_RATIO, True),
        "refresh_token": (GOAL_REFRESH_RATIO, False),
    }
    for grant in grants:
        print("\n".join(summarize(grant, rows, *goals[grant])))
    table = [summary_row(grant, verdict(grant, rows, *goals[grant]), args) for grant in grants]
    if ceiling is not None:
        ours = statistics.median(r["requests_per_s"] for r in rows if r["server"] == "ours"
                                 and r["grant"] == "refresh_token")  # fmt: skip
        print(f"  PostgreSQL alone, the same refresh transaction (pgbench, {te.CONNECTIONS}"
              f" clients): {ceiling:.0f} tps; ours {ours / ceiling:.0%} of it")  # fmt: skip
        figure = "refresh_token grants/s (durable: PostgreSQL)"
        table.append(
            summary.row(figure, ours, "/s", "pgbench, same SQL", ceiling, "(ceiling)", None)
        )
    summary.write(args.summary_json, table)
    te.RESULTS.mkdir(parents=True, exist_ok=True)
    out = te.RESULTS / f"compare-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"rows": rows, "args": vars(args), "cores": cores}, indent=2))
    return 0


def served(args: argparse.Namespace) -> str:
    if args.server == "granian":
        return f"granian {args.workers} WSGI workers"
    return f"gunicorn {args.workers} {args.worker_class} workers"


def peer_version() -> str:
    package = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
    return json.loads(package.read_text())["version"]


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (te.BenchError, wrk.WrkError) as exc:
        print(f"bench error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
