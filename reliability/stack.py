"""A whole deployment on loopback for the soak and the cluster runs: our own PostgreSQL
and Redis (reliability.services), the database migrated and provisioned with the
project's own CLI, N gunicorn nodes and, in front of them, the balancer.

The server environment, the flask CLI runner and the server start/stop come from the
benchmarks (bench/token_endpoint.py: ``server_env``, ``flask_cli``, ``served``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import services
from .balancer import Balancer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # bench/ is a folder of scripts, not a package
import token_endpoint as bench  # noqa: E402

BIN = ROOT / ".venv" / "bin"
WEBHOOK_SECRET = "whsec_soak_" + "s" * 24
PASSWORD = "soak password 1"  # noqa: S105 (the throw-away accounts' password)
APP_SCOPES = "openid offline_access credits:read credits:consume credits:purchase"
USER_SCOPE = "openid offline_access credits:read credits:consume credits:purchase"
REDIRECT = "http://127.0.0.1:9/cb"  # never fetched: the client reads the code from Location
CREDITS = 1_000_000


class Stack:
    """``nodes`` gunicorn nodes (``workers`` each) behind a balancer on ``port``."""

    def __init__(self, nodes: int = 1, workers: int = 2, threads: int = 4, users: int = 8):
        self.pg = services.Postgres()
        self.redis = services.Redis()
        self.port = services.free_port()
        self.node_ports = [services.free_port() for _ in range(nodes)]
        self.workers, self.threads, self.user_count = workers, threads, users
        self.instance = tempfile.mkdtemp(prefix="idp-stack-")
        self.url = f"http://127.0.0.1:{self.port}"
        self._exits = contextlib.ExitStack()
        self.node_pids: list[int | None] = [None] * nodes
        self._node_stacks: list[contextlib.ExitStack | None] = [None] * nodes

    # -- start and stop ------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.pg.start()
            self.redis.start()
            self.env = self._env(self.pg.database("idp"))
            self.provision()
            for index in range(len(self.node_ports)):
                self.start_node(index)
            self.balancer = Balancer(self.node_ports, self.port).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if hasattr(self, "balancer"):
            self.balancer.stop()
        for index in range(len(self.node_ports)):
            self.stop_node(index)
        self.pg.remove()
        self.redis.remove()
        if not self.errors_logged():  # else kept, for the logs the report points to
            shutil.rmtree(self.instance, ignore_errors=True)

    def errors_logged(self) -> list[str]:
        """The nodes' ERROR lines (the log level the nodes run at)."""
        found = []
        for log in sorted(Path(self.instance).glob("node*.log")):
            found += [
                f"{log.name}: {line}"
                for line in log.read_text().splitlines()
                if ("ERROR" in line or "Error" in line) and "was sent SIGKILL" not in line
            ]  # fmt: skip (gunicorn on our kill)
        return found

    def _env(self, database_url: str) -> dict:
        env = bench.server_env(database_url, self.port, self.instance)
        env.update(
            REDIS_URL=self.redis.url,
            IDP_ISSUER=self.url,  # the balancer's address: one issuer for every node
            IDP_PAYMENTS="simulated",
            IDP_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            IDP_OUTBOX_DELIVERY="cli",
            IDP_ARGON2_TIME_COST="1",
            IDP_ARGON2_MEMORY_COST="8192",
            IDP_ARGON2_PARALLELISM="1",
            # Every client comes from 127.0.0.1: per-IP limits would measure themselves.
            IDP_RATELIMIT_LOGIN_IP="1000000/minute",
            IDP_RATELIMIT_CLIENT_AUTH_UNKNOWN="1000000/minute",
            IDP_LOG_LEVEL="ERROR",
            IDP_KEY_REFRESH_SECONDS="1",
            # Verifiers may cache the JWKS this long, so a rotation waits for it (the
            # cluster's check rotates a few seconds after start).
            IDP_JWKS_MAX_AGE="5",
            PGCONNECT_TIMEOUT="3",
        )
        return env

    def flask(self, *args: str, stdin: str | None = None) -> str:
        """``flask --app wsgi ARGS`` against this stack's database; its stdout."""
        cmd = [str(BIN / "flask"), "--app", "wsgi", *args]
        done = subprocess.run(  # noqa: S603 (our own argument list)
            cmd, cwd=ROOT, env=self.env, input=stdin, capture_output=True, text=True
        )
        if done.returncode:
            raise bench.BenchError(f"flask {' '.join(args)}: {done.stderr or done.stdout}")
        return done.stdout

    def provision(self) -> None:
        """Migrate, keys, the partner app "shop" and the users with their credits, by the
        project's own CLI commands (reliability/provision.py: one process for them all)."""
        self.users = [f"user{n}@soak.example" for n in range(self.user_count)]
        spec = {
            "users": self.users,
            "password": PASSWORD,
            "credits": CREDITS,
            "app": ["--name", "shop", "--client-id", "shop", "--scope", APP_SCOPES,
                    "--redirect-uri", REDIRECT],
        }  # fmt: skip
        done = subprocess.run(  # noqa: S603 (our own argument list)
            [str(BIN / "python"), "-m", "reliability.provision"],
            cwd=ROOT, env={**self.env, "FLASK_APP": "wsgi"}, input=json.dumps(spec),
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise bench.BenchError(f"provisioning failed: {done.stderr or done.stdout}")
        self.shop = json.loads(done.stdout)

    def start_node(self, index: int) -> None:
        port = self.node_ports[index]
        cmd = [
            str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
            "--worker-class", "gthread", "--threads", str(self.threads), "--log-level",
            "error", "--timeout", "30", "--graceful-timeout", "5", "wsgi:app",
        ]  # fmt: skip
        # The node's log (errors only, IDP_LOG_LEVEL) goes to a file the report names.
        log = Path(self.instance) / f"node{index}.log"
        cmd = ["sh", "-c", f'exec "$0" "$@" 2>>{log} >>{log}', *cmd]
        stack = contextlib.ExitStack()
        _, pid = stack.enter_context(bench.served(cmd, self.env, port, f"node {index}"))
        self.node_pids[index] = pid
        self._node_stacks[index] = stack

    def stop_node(self, index: int) -> None:
        stack = self._node_stacks[index]
        if stack is not None:
            stack.close()
        self._node_stacks[index] = None
        self.node_pids[index] = None

    def kill_node(self, index: int) -> None:
        """SIGKILL the node's whole process group (master and workers): a node crash."""
        pid = self.node_pids[index]
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.stop_node(index)

    def kill_worker(self, index: int = 0) -> int | None:
        """SIGKILL one worker of node ``index`` (gunicorn's master starts another)."""
        master = self.node_pids[index]
        workers = services._children(master) if master else []
        if not workers:
            return None
        os.kill(workers[0], signal.SIGKILL)
        return workers[0]

    def wait_for_workers(self, index: int = 0, timeout: float = 60) -> None:
        """Until node ``index`` has all its workers again (gunicorn respawns a dead one)
        and the new one answers."""
        deadline = time.monotonic() + timeout
        master = self.node_pids[index]
        while time.monotonic() < deadline:
            if master and len(services._children(master)) >= self.workers:
                break
            time.sleep(0.1)

    def audit(self) -> tuple[bool, str]:
        """``flask wallet audit``: (clean, what it printed)."""
        cmd = [str(BIN / "flask"), "--app", "wsgi", "wallet", "audit"]
        done = subprocess.run(  # noqa: S603 (our own argument list)
            cmd, cwd=ROOT, env=self.env, capture_output=True, text=True
        )
        return done.returncode == 0, (done.stdout + done.stderr).strip()
