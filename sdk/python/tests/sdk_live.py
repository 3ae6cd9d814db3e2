"""The real IdP for the SDK tests: gunicorn processes, the authorization-code flow driven
over HTTP with httpx, the operator CLI, and tokens signed with the fixed test key."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

PASSWORD = "correct horse battery"
WALLET = "openid credits:read credits:consume credits:purchase"
KEY_1 = Path(__file__).resolve().parents[3] / "tests" / "files" / "rsa_key_1.pem"


@dataclass
class Services:
    env: dict
    data: dict
    flask: list
    repo: Path
    logs: Path

    def cli(self, *args: str, **env: str) -> str:
        """``flask --app wsgi ARGS`` against the test database."""
        result = subprocess.run(
            [*self.flask, *args],
            cwd=self.repo,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout


class CLISession:
    """``flask`` commands in one long-lived process (see cli_session.py)."""

    def __init__(self, services: Services, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("cli_session.py"))],
            cwd=services.repo,
            env={**services.env, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, *args: str) -> str:
        self.process.stdin.write(json.dumps(list(args)) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert answer["code"] == 0, answer["output"][-2000:]
        return answer["output"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


class Server:
    """One gunicorn serving ``wsgi:app`` on 127.0.0.1:``port``, issuer = its own URL, with
    an access log from which the tests count JWKS fetches."""

    def __init__(self, services: Services, port: int, name: str) -> None:
        self.services = services
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = services.logs / f"{name}-access.log"
        self.error_log = services.logs / f"{name}-error.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**self.services.env, "IDP_ISSUER": self.url}
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-b",
            f"127.0.0.1:{self.port}",
            "-w",
            "1",
            "--threads",
            "8",
            "--graceful-timeout",
            "2",
            "--access-logfile",
            str(self.access_log),
            "--error-logfile",
            str(self.error_log),
            "wsgi:app",
        ]
        self.process = subprocess.Popen(command, cwd=self.services.repo, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self._log_tail()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not come up: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.error_log.read_text()[-2000:] if self.error_log.exists() else "(no log)"

    def stop(self) -> None:
        """Terminate gunicorn (the "IdP down" of the tests) and wait for it to exit."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def jwks_fetches(self, request: str = '"GET /.well-known/jwks.json') -> int:
        """``GET /.well-known/jwks.json`` (or ``request``) lines in the access log: what
        the server saw."""
        if not self.access_log.exists():
            return 0
        return self.access_log.read_text().count(request)

    def wait_for_fetches(self, at_least: int, timeout: float = 3.0) -> int:
        """The access log is written after the answer: wait until it shows ``at_least``."""
        deadline = time.monotonic() + timeout
        while self.jwks_fetches() < at_least and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.jwks_fetches()

    def settle(self, request: str = '"GET /.well-known/jwks.json') -> int:
        """The count once the log has stopped growing."""
        last = -1
        while (now := self.jwks_fetches(request)) != last:
            last = now
            time.sleep(0.15)
        return now


# -- tokens ---------------------------------------------------------------------------------


def client_credentials(url: str, app: dict, scope: str | None = None) -> dict:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    response = httpx.post(
        url + "/oauth/token", data=form, auth=(app["client_id"], app["client_secret"])
    )
    assert response.status_code == 200, response.text
    return response.json()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def authorization_code_tokens(url: str, app: dict, email: str, scope: str) -> dict:
    """Sign in on the hosted page, consent, exchange the code with PKCE: the real flow."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = app["redirect_uris"][0]
    authorize = "/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    with httpx.Client(base_url=url, timeout=10) as browser:
        page = browser.get("/login")
        form = {"email": email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
        assert browser.post("/login", data=form).status_code == 302
        response = browser.get(authorize)
        if response.status_code == 200:  # the consent page
            form = {"csrf_token": _csrf(response.text), "decision": "allow"}
            response = browser.post(authorize, data=form)
        assert response.status_code == 302, response.text[:500]
        location = response.headers["Location"]
        assert location.startswith(redirect_uri + "?"), location
        code = parse_qs(urlsplit(location).query)["code"][0]
        exchange = browser.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(app["client_id"], app["client_secret"]),
        )
    assert exchange.status_code == 200, exchange.text
    return exchange.json()


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def private_key_1():
    return serialization.load_pem_private_key(KEY_1.read_bytes(), None)


def sign(claims: dict, kid: str, key=None, **header) -> str:
    """RS256 with rsa_key_1 (published by the server) unless ``key`` is given."""
    return jwt.encode(
        claims, key or private_key_1(), algorithm="RS256", headers={"kid": kid, **header}
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict, claims: dict, signature: bytes = b"") -> str:
    """A JWS built by hand (``alg: none``, HS256 with the public key, random kids)."""
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


# -- a fault-injecting proxy ------------------------------------------------------------


class Proxy:
    """A loopback HTTP proxy in front of the server that can drop the connection after the
    server answered (the answer is lost, the work is done) or answer by itself first.

    ``drop(n, path)``: the next ``n`` requests whose path starts with ``path`` reach the
    server, then their connection is closed without a byte.  ``answer(status, headers)``:
    the next matching request is answered here without reaching the server."""

    def __init__(self, upstream_port: int) -> None:
        import socket
        import threading

        self.upstream = ("127.0.0.1", upstream_port)
        self.rules: list[list] = []  # [kind, remaining, path, status, headers]
        self.seen: list[str] = []  # request lines that reached the server
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self, n: int, path: str) -> None:
        self.rules.append(["drop", n, path, 0, {}])

    def answer(self, status: int, path: str, headers: dict | None = None, n: int = 1) -> None:
        self.rules.append(["answer", n, path, status, headers or {}])

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        import threading

        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _rule(self, path: str):
        with self.lock:
            for rule in self.rules:
                if rule[1] > 0 and path.startswith(rule[2]):
                    rule[1] -= 1
                    return rule
        return None

    def _serve(self, conn) -> None:
        import socket

        with conn:
            request = _read_request(conn)
            if request is None:
                return
            head, body = request
            request_line = head.split(b"\r\n", 1)[0].decode()
            rule = self._rule(request_line.split(" ")[1])
            if rule and rule[0] == "answer":
                extra = "".join(f"{k}: {v}\r\n" for k, v in rule[4].items())
                payload = b'{"error": "injected", "error_description": "by the proxy"}'
                conn.sendall(
                    f"HTTP/1.1 {rule[3]} Injected\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n{extra}\r\n".encode()
                    + payload
                )
                return
            lines = [
                line
                for line in head.split(b"\r\n")
                if not line.lower().startswith((b"connection:", b"keep-alive:"))
            ]
            upstream_request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
            self.seen.append(request_line)
            with socket.create_connection(self.upstream, timeout=10) as up:
                up.sendall(upstream_request)
                answer = b""
                while chunk := up.recv(65536):
                    answer += chunk
            if rule and rule[0] == "drop":
                return  # the server did the work; the client never hears of it
            conn.sendall(answer)


def _read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body
