"""Offline verification benchmark: ``TokenVerifier.verify`` per second on one pinned core,
next to raw PyJWT ``jwt.decode`` with the key already loaded, and OpenSSL's RSA-2048
verifications per second (``openssl speed -seconds 5 rsa2048``), in the same run.

The verifier gets its keys from a loopback JWKS server (started here, idle once the cache
is warm); the token is shaped like the IdP's access tokens (RS256, ``typ: at+jwt``, a
``kid``, two audiences, scopes).  Both contenders check the signature, ``iss``, ``aud``,
``exp``, ``iat``; the SDK also ``typ``, ``nbf``, the required claims and builds the typed
``Claims``.  Goal (issue 11): the SDK at >= 0.9x raw PyJWT.  Not a test: it prints figures.

    .venv/bin/python bench/verify.py [--seconds 3] [--rounds 3] [--no-pin]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import summary  # bench/summary.py
from cross_app_sdk import TokenVerifier
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

ROOT = Path(__file__).resolve().parents[1]
KEY = ROOT / "tests" / "files" / "rsa_key_1.pem"
KID = "bench-key-1"
AUDIENCE = "https://shop.example"


def pin_to_core_0(args) -> None:
    """Re-run under ``taskset -c 0`` (once) so every figure comes from the same core."""
    if args.no_pin or os.environ.get("BENCH_VERIFY_PINNED") or not shutil.which("taskset"):
        return
    env = {**os.environ, "BENCH_VERIFY_PINNED": "1"}
    command = ["taskset", "-c", "0", sys.executable, *sys.argv]
    sys.exit(subprocess.run(command, env=env).returncode)


def jwks_server(public_key) -> tuple[ThreadingHTTPServer, str]:
    jwk = {**json.loads(RSAAlgorithm.to_jwk(public_key)), "kid": KID, "use": "sig", "alg": "RS256"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=300")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def rate(fn, seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (batches of 200)."""
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        done += 200
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def openssl_rsa2048_verify() -> tuple[float | None, str]:
    """OpenSSL's RSA-2048 verify/s (the last column of its ``rsa 2048 bits`` line)."""
    if not shutil.which("openssl"):
        return None, "openssl not found"
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "5", "rsa2048"], capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        if re.match(r"\s*rsa\s+2048 bits", line):
            return float(line.split()[-1]), line.strip()
    return None, "no rsa 2048 line in openssl's output"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per round and contender")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--no-pin", action="store_true", help="do not taskset -c 0")
    parser.add_argument("--summary-json", metavar="PATH", help="write the goal row (summary.py)")
    args = parser.parse_args()
    pin_to_core_0(args)

    private = serialization.load_pem_private_key(KEY.read_bytes(), None)
    public = private.public_key()
    httpd, issuer = jwks_server(public)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "yMn-CRsbeR1hBrLQeSAY_g",
        "aud": [AUDIENCE, issuer + "/api/wallet"],
        "client_id": "shop",
        "scope": "openid credits:read credits:consume",
        "jti": "Wl4bJk2QpJ1s3n5n0o7hbA",
        "iat": now,
        "exp": now + 3600,
        "auth_time": now - 10,
    }
    token = jwt.encode(claims, private, "RS256", headers={"kid": KID, "typ": "at+jwt"})
    verifier = TokenVerifier(issuer, AUDIENCE, jwks_uri=issuer + "/jwks.json")
    assert verifier.verify(token, "credits:consume").sub == claims["sub"]  # warm the cache

    def sdk():
        verifier.verify(token)

    def raw():
        jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE, issuer=issuer)

    results: dict[str, list[float]] = {"sdk": [], "raw": []}
    for _ in range(args.rounds):
        results["raw"].append(rate(raw, args.seconds))
        results["sdk"].append(rate(sdk, args.seconds))
    httpd.shutdown()
    sdk_rate = statistics.median(results["sdk"])
    raw_rate = statistics.median(results["raw"])
    openssl_rate, openssl_line = openssl_rsa2048_verify()

    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"offline verification, RS256 2048-bit, cores {affinity}, median of {args.rounds}")
    print(f"  TokenVerifier.verify        {sdk_rate:10,.0f} /s   ({sdk_rate / raw_rate:.2f}x raw)")
    print(f"  jwt.decode (key loaded)     {raw_rate:10,.0f} /s")
    if openssl_rate:
        print(f"  openssl speed rsa2048 verify {openssl_rate:9,.0f} /s   ({openssl_line})")
        print(f"  TokenVerifier / openssl     {sdk_rate / openssl_rate:10.2f}")
    else:
        print(f"  openssl: {openssl_line}")
    verdict = "met" if sdk_rate >= 0.9 * raw_rate else "missed"
    print(f"  goal: TokenVerifier >= 0.9x raw PyJWT: {verdict}")
    for name, rates in results.items():
        print(f"  rounds {name}: " + ", ".join(f"{r:,.0f}" for r in rates))
    met = sdk_rate >= 0.9 * raw_rate
    row = summary.row("TokenVerifier.verify", sdk_rate, "/s", "raw PyJWT", raw_rate, ">= 0.9x", met)
    summary.write(args.summary_json, [row])


if __name__ == "__main__":
    main()
