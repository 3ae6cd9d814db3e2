"""`make demo`: the IdP and two example partner apps on three origins, in one command.

- the IdP on http://127.0.0.1:5000 (gunicorn, `IDP_PAYMENTS=simulated`; SQLite in
  instance/ like `make run`, or `--database-url`), migrated, with keys, the credit packs
  and a plan, and both apps registered (idempotently: a second run changes nothing);
- Acme Studio, examples/partner-app: the React front end (built with Vite) and its Flask
  back end (server/app.py: verifies tokens, spends credits with `cross_app_sdk`), on
  http://localhost:5173;
- Bolt Notes, examples/sso-app: a static page with the SDK's build, on
  http://localhost:5174, to show single sign-on.

Verification codes of sign-ups are mailed to the IdP's log in development; this script
repeats each one in a line of its own (`>>> mail to ...: code 123456`). Ctrl-C (or
SIGTERM) stops everything. Options (or environment variables): --idp-port
(DEMO_IDP_PORT), --app-port (DEMO_APP_PORT), --sso-port (DEMO_SSO_PORT), --database-url
(DEMO_DATABASE_URL), --redis-url (DEMO_REDIS_URL), --instance (DEMO_INSTANCE_PATH),
--no-build. Other IDP_* variables reach the IdP unchanged.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PARTNER = HERE / "partner-app"
SSO = HERE / "sso-app"
SDK_JS = REPO / "sdk" / "js"
PARTNER_ID, SSO_ID = "partner-app", "sso-app"
SCOPES = "openid profile email offline_access credits:read credits:consume credits:purchase"
# One-off packs as `flask dev bootstrap` seeds them, and a monthly plan.
PACKAGES = (
    ("starter-100", "Starter", 100, 500, None),
    ("plus-500", "Plus", 500, 2000, None),
    ("pro-monthly", "Pro", 300, 900, "month"),
)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idp-port", type=int, default=int(env("DEMO_IDP_PORT", "5000")))
    parser.add_argument("--app-port", type=int, default=int(env("DEMO_APP_PORT", "5173")))
    parser.add_argument("--sso-port", type=int, default=int(env("DEMO_SSO_PORT", "5174")))
    parser.add_argument("--database-url", default=env("DEMO_DATABASE_URL"))
    parser.add_argument("--redis-url", default=env("DEMO_REDIS_URL"))
    parser.add_argument("--instance", default=env("DEMO_INSTANCE_PATH"))
    parser.add_argument("--no-build", action="store_true", help="Use the builds as they are.")
    return parser.parse_args(argv)


def npm(cwd: Path, *args: str) -> None:
    npm_bin = shutil.which("npm") or sys.exit("make demo needs Node.js 20 and npm")
    subprocess.run([npm_bin, *args], cwd=cwd, check=True)  # noqa: S603


def build() -> None:
    """The example's front end (Vite), and the SDK's build the second app loads."""
    for root, ready in ((PARTNER, None), (SDK_JS, SDK_JS / "dist" / "index.js")):
        if ready is not None and ready.exists():
            continue
        if not (root / "node_modules").exists():
            npm(root, "ci", "--no-audit", "--no-fund")
        npm(root, "run", "build")


def idp_environment(args: argparse.Namespace, issuer: str) -> dict[str, str]:
    """The IdP's settings: development, simulated payments, this issuer."""
    env = {**os.environ, "IDP_ENV": "development", "IDP_PAYMENTS": "simulated"}
    env["IDP_ISSUER"] = issuer
    given = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "IDP_INSTANCE_PATH": args.instance,
    }
    env.update({k: v for k, v in given.items() if v})
    return env


def registrations(app_origin: str, sso_origin: str) -> list[tuple[str, list[str]]]:
    """Both apps as `flask apps create` arguments: public clients (no secret in a
    browser), their origins, callback pages and audiences."""

    def app(client_id: str, name: str, origin: str, scope: str) -> tuple[str, list[str]]:
        return client_id, [
            "apps", "create", "--name", name, "--type", "public", "--client-id", client_id,
            "--origin", origin, "--redirect-uri", f"{origin}/callback.html",
            "--post-logout-redirect-uri", f"{origin}/", "--scope", scope,
            "--audience", origin, "--refresh-reuse-grace", "10",
        ]  # fmt: skip

    return [
        app(PARTNER_ID, "Acme Studio", app_origin, SCOPES),
        app(SSO_ID, "Bolt Notes", sso_origin, SCOPES),
    ]


_SEED = """
import json, sys
from wsgi import app
runner = app.test_cli_runner()
def run(args, may_fail=False):
    result = runner.invoke(args=args)
    if result.exit_code and not may_fail:
        sys.exit('flask %s failed: %s %r' % (' '.join(args[:2]), result.output, result.exception))
    return result
plan = json.loads(sys.argv[1])
for args in plan['first']:
    run(args)
for client_id, args in plan['apps']:
    shown = run(['apps', 'show', client_id, '--json'], may_fail=True)
    if shown.exit_code:
        run(args)
    elif args[args.index('--redirect-uri') + 1] not in json.loads(shown.output)['redirect_uris']:
        print('warning: %s is registered with other origins (another --app-port or '
              '--sso-port against this database): use a fresh --instance or database' % client_id)
have = {p['id'] for p in json.loads(run(['wallet', 'packages', 'list', '--json']).output)}
for args in plan['packages']:
    if args[4] not in have:
        run(args)
"""


def seed(env: dict[str, str], app_origin: str, sso_origin: str) -> None:
    """Migrate, keys, apps, packages: through the operator CLI, in one process."""
    packages = []
    for package_id, name, credits, price, interval in PACKAGES:
        args = ["wallet", "packages", "create", "--id", package_id, "--name", name]
        args += ["--credits", str(credits), "--price", str(price)]
        packages.append(args + (["--interval", interval] if interval else []))
    plan = {
        "first": [["db", "upgrade"], ["keys", "ensure"]],
        "apps": registrations(app_origin, sso_origin),
        "packages": packages,
    }
    command = [sys.executable, "-c", _SEED, json.dumps(plan)]
    subprocess.run(command, cwd=REPO, env=env, check=True)  # noqa: S603


_CODE = re.compile(r"\b(\d{6})\b")


def relay(stream, done: threading.Event) -> None:
    """Echo the IdP's output; repeat each mailed verification code on a line of its own."""
    to = None
    for line in iter(stream.readline, ""):
        sys.stdout.write(line)
        if line.startswith("To: "):
            to = line[4:].strip()
        elif to and (code := _CODE.search(line)):
            print(f">>> mail to {to}: code {code.group(1)}", flush=True)
            to = None
    done.set()


def start_idp(env: dict[str, str], port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--threads", "8", "wsgi:app"]
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_until_up(url: str, child: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our loopback URL)
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the IdP did not start ({url})")


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sso_app(issuer: str):
    """Bolt Notes (examples/sso-app/server.py): its pages and the SDK's build."""
    return load(SSO / "server.py", "sso_app_server").create_app(issuer, SSO_ID)


def serve(app, port: int):
    """A threaded WSGI server on 127.0.0.1 (the apps' origins say `localhost`)."""
    from werkzeug.serving import make_server

    # Requests are not logged: the IdP's output (and its mailed codes) stays readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def partner_app(issuer: str, origin: str):
    server = load(PARTNER / "server" / "app.py", "partner_app_server")
    return server.create_app(
        {
            "PARTNER_ISSUER": issuer,
            "PARTNER_CLIENT_ID": PARTNER_ID,
            "PARTNER_AUDIENCE": origin,
            "PARTNER_DIST": str(PARTNER / "dist"),
        }
    )


def stop(idp: subprocess.Popen, servers: list) -> None:
    # A second Ctrl-C or SIGTERM must not interrupt the stopping (and orphan the IdP).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for server in servers:
        server.shutdown()
    if idp.poll() is None:
        os.killpg(idp.pid, signal.SIGTERM)
        idp.wait(timeout=20)


def _interrupt(*_):
    raise KeyboardInterrupt


def ensure_free(*ports: int) -> None:
    """Refuse to start beside a server already on a port (`make run` on 5000, say): the
    demo would talk to it instead of its own."""
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                sys.exit(f"port {port} is in use: stop what runs there, or pick another port")


def main(argv: list[str] | None = None) -> None:
    args = options(argv)
    ensure_free(args.idp_port, args.app_port, args.sso_port)
    issuer = f"http://127.0.0.1:{args.idp_port}"
    app_origin = f"http://localhost:{args.app_port}"
    sso_origin = f"http://localhost:{args.sso_port}"
    if not args.no_build:
        build()
    env = idp_environment(args, issuer)
    seed(env, app_origin, sso_origin)
    idp = start_idp(env, args.idp_port)
    ended = threading.Event()
    threading.Thread(target=relay, args=(idp.stdout, ended), daemon=True).start()
    signal.signal(signal.SIGTERM, _interrupt)
    servers = []
    try:
        wait_until_up(f"{issuer}/healthz", idp)
        servers.append(serve(partner_app(issuer, app_origin), args.app_port))
        servers.append(serve(sso_app(issuer), args.sso_port))
        announce(issuer, app_origin, sso_origin)
        ended.wait()
    except KeyboardInterrupt:
        print("\nstopping the demo", flush=True)
    finally:
        stop(idp, servers)


def announce(issuer: str, app_origin: str, sso_origin: str) -> None:
    print(
        f"""
The demo is running (Ctrl-C stops it):
  Acme Studio, the partner app:   {app_origin}/
  Bolt Notes, single sign-on:     {sso_origin}/
  The identity provider:          {issuer}/

Open {app_origin}/, choose "Create account" (the verification code shows up here),
buy credits (simulated payment: nothing is charged), generate, then open {sso_origin}/.
demo ready""",
        flush=True,
    )


if __name__ == "__main__":
    main()
