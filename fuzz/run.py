"""Fuzz every operation of the OpenAPI document against a live server (``make fuzz``;
``make test`` runs it with a small budget).

A fresh PostgreSQL database next to ``TEST_DATABASE_URL`` (``<name>_fuzz``), Redis at
``TEST_REDIS_URL`` (where either is unreachable: SQLite and no Redis, as ``make run``,
unless ``IDP_TEST_REQUIRE_SERVICES=1``), gunicorn on loopback, real credentials (fuzz/seed.py); then
schemathesis once per kind of caller, each operation getting the credentials its
``security`` asks for: an admin token, the app's client-credentials token, a user's
token, the app's client secret (HTTP Basic), or none.  The checks: no 5xx, every status
and content type documented, every body and required header as documented."""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import redis

from idp.openapi import operations
from tests.wallet.stripe_fake import FakeStripe

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="per operation")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None, help="reproduce a run")
    args = parser.parse_args()
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}"
    stripe = FakeStripe().start()  # the real stripe library talks to it
    with tempfile.TemporaryDirectory(prefix="idp-fuzz-") as instance:
        database, redis_url = _services(instance)
        print(f"fuzzing on {database.split(':')[0]}, redis: {'yes' if redis_url else 'no'}")
        env = _server_env(database, redis_url, issuer, instance, stripe.url)
        subprocess.run(
            [BIN / "flask", "--app", "wsgi", "db", "upgrade"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
        seeded = subprocess.run(
            [BIN / "python", "-m", "fuzz.seed"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        creds = json.loads(seeded.stdout)
        server = subprocess.Popen(
            [
                BIN / "gunicorn",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "--threads",
                "4",
                "--log-level",
                "warning",
                # No request-line or header caps: gunicorn's own 414/431 pages would
                # answer before the app does, and the app is what is under test.
                "--limit-request-line",
                "0",
                "--limit-request-field_size",
                "0",
                "wsgi:app",
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_for(issuer)
            return _fuzz(issuer, creds, args)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _fuzz(issuer: str, creds: dict, args) -> int:
    headers = _callers(issuer, creds)
    groups = _groups(_get_json(f"{issuer}/openapi.json"))
    failed = []
    for caller, operation_ids in groups.items():
        print(f"\n== {caller}: {len(operation_ids)} operations", flush=True)
        command = [
            str(BIN / "schemathesis"),
            "run",
            f"{issuer}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--workers",
            str(args.workers),
            "--no-color",
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
            "--warnings",
            "off",
        ]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        for operation_id in operation_ids:
            command += ["--include-operation-id", operation_id]
        if headers[caller]:
            command += ["-H", f"Authorization: {headers[caller]}"]
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            failed.append(caller)
    print(f"\nfuzzing: {'failures for ' + ', '.join(failed) if failed else 'no failures'}")
    return 1 if failed else 0


def _groups(doc: dict) -> dict[str, list[str]]:
    """Operation ids by the caller whose credentials they need."""
    groups: dict[str, list[str]] = {}
    for _, _, op in operations(doc):
        caller = _caller(op.get("security", doc.get("security", [])))
        groups.setdefault(caller, []).append(op["operationId"])
    return groups


def _caller(requirements: list[dict]) -> str:
    scopes = {s for r in requirements for s in r.get("oauth2", [])}
    schemes = {name for r in requirements for name in r}
    if "admin" in scopes:
        return "admin"
    if "roles:manage" in scopes:
        return "app"
    if "oauth2" in schemes:
        return "user"
    if "clientSecretBasic" in schemes:
        return "client"
    return "anonymous"


def _callers(issuer: str, creds: dict) -> dict[str, str | None]:
    partner, admin = creds["partner"], creds["admin"]
    return {
        "admin": "Bearer " + _client_token(issuer, admin, "admin"),
        "app": "Bearer " + _client_token(issuer, partner, creds["app_scopes"]),
        "user": "Bearer " + creds["user"]["access_token"],
        "client": "Basic " + _basic(partner),
        "anonymous": None,
    }


def _basic(client: dict) -> str:
    pair = (
        f"{urllib.parse.quote(client['client_id'])}:{urllib.parse.quote(client['client_secret'])}"
    )
    return base64.b64encode(pair.encode()).decode()


def _client_token(issuer: str, client: dict, scope: str) -> str:
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    request = urllib.request.Request(
        f"{issuer}/oauth/token", body, {"Authorization": "Basic " + _basic(client)}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _services(instance: str) -> tuple[str, str | None]:
    required = os.environ.get("IDP_TEST_REQUIRE_SERVICES") == "1"
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        database = _fresh_database(url)
    except psycopg.OperationalError:
        if required:
            raise
        database = f"sqlite:///{instance}/fuzz.sqlite3"
    try:
        redis.Redis.from_url(redis_url, socket_timeout=2).ping()
    except redis.RedisError:
        if required:
            raise
        redis_url = None
    return database, redis_url


def _fresh_database(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/") + "_fuzz"
    with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _server_env(database, redis_url, issuer: str, instance: str, stripe_url: str) -> dict:
    env = {
        **os.environ,
        "IDP_ENV": "development",
        "DATABASE_URL": database,
        "IDP_ISSUER": issuer,
        "IDP_INSTANCE_PATH": instance,
        "IDP_PAYMENTS": "stripe",
        "IDP_STRIPE_SECRET_KEY": "sk_test_fuzz",
        "IDP_STRIPE_WEBHOOK_SECRET": "whsec_fuzz",
        "IDP_STRIPE_API_BASE": stripe_url,
        "IDP_OUTBOX_DELIVERY": "cli",
        "IDP_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(issuer: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            _get_json(f"{issuer}/healthz")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
