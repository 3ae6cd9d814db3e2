"""A PostgreSQL and a Redis of our own, on free loopback ports, to stop, kill and
restart: fault runs never touch the servers the rest of the suite shares.

PostgreSQL comes from Debian's binaries (``/usr/lib/postgresql/<version>/bin``).
``initdb`` refuses to run as root, and CI runs as root: there every PostgreSQL command
runs as the ``postgres`` user (``runuser``), in a temporary folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis


class ServiceError(RuntimeError):
    """A service of ours could not be started."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def missing() -> str | None:
    """Why these services cannot be started on this machine, or None."""
    if postgres_bin() is None:
        return "Debian's PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are missing"
    if shutil.which("redis-server") is None:
        return "redis-server is missing"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (initdb refuses to run as root)"
    return None


def _wait(check, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except Exception as exc:  # not up yet
            if time.monotonic() > deadline:
                raise ServiceError(f"{what} did not come up in {timeout:.0f} s: {exc}") from exc
            time.sleep(0.1)


class Postgres:
    """A throw-away PostgreSQL cluster: ``start``, ``stop`` (fast or immediate),
    ``kill`` (SIGKILL of the postmaster: a crash), ``restart``, ``remove``."""

    def __init__(self, port: int | None = None) -> None:
        self.bin = postgres_bin()
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="idp-pg-"))
        self.data = self.root / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                # fsync off loses nothing when only the server process dies (the OS keeps
                # its writes); synchronous_commit stays on: an acknowledged commit is on
                # its way to disk before the client hears of it.
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
                "shared_buffers = 64MB\n"
            )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def database(self, name: str) -> str:
        """Create database ``name`` (dropping any old one); returns its URL."""
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.url}/{name}"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # Our own argument lists (the binaries' paths, our temporary folder): no shell.
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.root)  # noqa: S603
        if check and done.returncode:
            raise ServiceError(f"{tool} failed: {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")
        _wait(self._ping, "PostgreSQL", 30)

    def _ping(self) -> None:
        with psycopg.connect(f"{self.url}/postgres", connect_timeout=2):
            pass

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """SIGKILL the postmaster (its backends stop when they notice), as a crash would;
        the next ``start`` recovers from the WAL."""
        pid = self.postmaster_pid()
        if pid:
            # Its children by id (what a machine crash takes with it), then itself.
            for child in [*_children(pid), pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _listening(self.port):
            time.sleep(0.1)
        # What a dead postmaster leaves behind and a new one would take for a live one.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for leftover in (f".s.PGSQL.{self.port}", f".s.PGSQL.{self.port}.lock"):
            (self.root / leftover).unlink(missing_ok=True)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """A throw-away ``redis-server``: no persistence unless asked (``save`` writes a
    snapshot to its folder, which the next ``start`` loads)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="idp-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--dir", str(self.root), "--save", "", "--appendonly", "no"]
        cmd += ["--daemonize", "no", "--loglevel", "warning"]
        self.proc = subprocess.Popen(  # noqa: S603 (our own argument list, no shell)
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        _wait(lambda: self.client().ping(), "Redis", 15)

    def save(self) -> None:
        self.client().save()

    def kill(self) -> None:
        """SIGKILL: what it held and had not saved is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers (a hung server)."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def restart(self) -> None:
        self.kill()
        self.start()

    def remove(self) -> None:
        self.resume()
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(Path(stat).parent.name))
    return found
