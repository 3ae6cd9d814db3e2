"""The JWKS cache against the real server: kid sprays, a thundering herd, an IdP outage;
and against a small JWKS server of the test's own for Cache-Control, size and garbage."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jwt.algorithms import RSAAlgorithm

import sdk_live as live
from cross_app_sdk import InvalidToken, KeySetUnavailable, Reason, TokenVerifier
from cross_app_sdk.jwks import CachePolicy

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def app_token(server, shop) -> str:
    return live.client_credentials(server.url, shop)["access_token"]


def _sprayed(claims: dict) -> str:
    """A token whose kid nobody ever published (the signature is never looked at)."""
    header = {"alg": "RS256", "typ": "at+jwt", "kid": secrets.token_urlsafe(12)}
    return live.compact(header, claims, secrets.token_bytes(256))


@pytest.mark.parametrize(("cooldown", "seconds", "threads"), [(30.0, 1.5, 1), (0.4, 2.0, 4)])
def test_kid_spray_is_bounded_by_the_cooldown(server, app_token, cooldown, seconds, threads):
    """1,000 tokens with random kids over T seconds: at most 1 + T / cooldown fetches,
    counted in the server's access log."""
    verifier = TokenVerifier(server.url, SHOP, cooldown=cooldown)
    verifier.verify(app_token)  # warm: the sprayed kids arrive at a cache that has keys
    claims = live.claims_of(app_token)
    before = server.settle()
    start = time.monotonic()
    per_thread = 1000 // threads

    def spray():
        for i in range(per_thread):
            with pytest.raises(InvalidToken) as caught:
                verifier.verify(_sprayed(claims))
            assert caught.value.reason == Reason.UNKNOWN_KID
            pause = start + (i + 1) * seconds / per_thread - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    workers = [threading.Thread(target=spray) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start
    fetched = server.settle() - before
    assert fetched <= 1 + elapsed / cooldown
    if cooldown < elapsed / 2:  # the cooldown is a rate, not a ban: it does refetch
        assert fetched >= 2
    assert verifier.verify(app_token).client_id == "shop"  # good tokens unaffected


def test_thirty_two_threads_cause_one_fetch(server, app_token):
    verifier = TokenVerifier(server.url, SHOP)
    before = server.settle()
    barrier = threading.Barrier(32)
    results: list[object] = []

    def verify():
        barrier.wait()
        try:
            results.append(verifier.verify(app_token).sub)
        except Exception as exc:  # collected, asserted below
            results.append(exc)

    workers = [threading.Thread(target=verify) for _ in range(32)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == ["shop"] * 32
    assert server.settle() - before == 1


def test_idp_down_serves_the_last_good_keys_for_the_stale_period(disposable_server, shop, caplog):
    """Terminate gunicorn: tokens with known kids verify for max_stale, one log line."""
    url = disposable_server.url
    token = live.client_credentials(url, shop)["access_token"]
    verifier = TokenVerifier(
        url, SHOP, min_ttl=0.5, max_ttl=0.5, cooldown=0.2, max_stale=4, negative_ttl=0
    )
    assert verifier.verify(token).sub == "shop"
    disposable_server.stop()
    stale_until = verifier.keys.usable_until  # the last good fetch + 0.5 + 4 s
    caplog.set_level(logging.WARNING, logger="cross_app_sdk")
    time.sleep(max(verifier.keys.fresh_until - time.monotonic(), 0))  # past freshness
    verified = 0
    while time.monotonic() < stale_until - 0.5:
        assert verifier.verify(token).sub == "shop"
        verified += 1
        time.sleep(0.05)
    assert verified >= 20
    assert verifier.keys.fetches >= 4  # it kept trying, once per cooldown
    failures = [r for r in caplog.records if "JWKS fetch failed" in r.getMessage()]
    assert len(failures) == 1
    assert verifier.refresh_keys() is False  # a forced refetch that fails keeps the keys
    assert verifier.verify(token).sub == "shop"
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(_sprayed(live.claims_of(token)))
    assert caught.value.reason == Reason.UNKNOWN_KID
    time.sleep(max(stale_until + 0.1 - time.monotonic(), 0))
    with pytest.raises(KeySetUnavailable):
        verifier.verify(token)
    disposable_server.start()  # back: the next attempt recovers
    time.sleep(0.25)
    assert verifier.verify(token).sub == "shop"
    assert any("recovered" in r.getMessage() for r in caplog.records)


def test_idp_down_at_start_is_unavailable_not_invalid(shop):
    verifier = TokenVerifier("http://127.0.0.1:9", SHOP)
    with pytest.raises(KeySetUnavailable):
        verifier.verify(live.compact({"alg": "RS256", "typ": "at+jwt", "kid": "k"}, {}, b"x"))


# -- a JWKS server of our own -------------------------------------------------------------


class JWKSServer:
    """Serves ``self.body`` with ``self.headers``; counts requests."""

    def __init__(self) -> None:
        self.body = b"{}"
        self.headers: dict[str, str] = {}
        self.requests = 0
        self.chunked = False
        self.delay = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests += 1
                time.sleep(owner.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                for name, value in owner.headers.items():
                    self.send_header(name, value)
                if owner.chunked:  # no length: HTTP/1.0 style, the body ends at close
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(owner.body)
                    return
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, *keys: tuple[str, object], **extra) -> None:
        jwks = []
        for kid, private in keys:
            jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
            jwks.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256", **extra})
        self.body = json.dumps({"keys": jwks}).encode()


@pytest.fixture
def jwks_server():
    srv = JWKSServer()
    yield srv
    srv.httpd.shutdown()


def _local(jwks_server, **policy) -> TokenVerifier:
    return TokenVerifier(jwks_server.url, "aud", jwks_uri=jwks_server.url + "/jwks", **policy)


def _token(jwks_server, kid, key=None, **claims) -> str:
    now = int(time.time())
    body = {"iss": jwks_server.url, "sub": "s", "aud": "aud", "client_id": "c", "jti": "j"}
    body.update(iat=now, exp=now + 60, **claims)
    return live.sign(body, kid, key=key, typ="at+jwt")


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("public, max-age=300", 300),
        ("max-age=0", 60),  # the floor
        ("max-age=999999999", 3600),  # the ceiling
        ("no-store", 60),
        ("no-cache, max-age=600", 60),
        (None, 300),  # the default
    ],
)
def test_cache_control_within_floor_and_ceiling(jwks_server, cache_control, expected):
    jwks_server.publish(("k1", live.private_key_1()))
    if cache_control:
        jwks_server.headers["Cache-Control"] = cache_control
    verifier = _local(jwks_server)
    start = time.monotonic()
    verifier.verify(_token(jwks_server, "k1"))
    assert verifier.keys.fresh_until - start == pytest.approx(expected, abs=1)


def test_age_is_subtracted(jwks_server):
    jwks_server.publish(("k1", live.private_key_1()))
    jwks_server.headers.update({"Cache-Control": "max-age=600", "Age": "500"})
    verifier = _local(jwks_server)
    start = time.monotonic()
    verifier.verify(_token(jwks_server, "k1"))
    assert verifier.keys.fresh_until - start == pytest.approx(100, abs=1)


def test_an_oversized_or_broken_jwks_never_replaces_good_keys(jwks_server):
    jwks_server.publish(("k1", live.private_key_1()))
    verifier = _local(jwks_server, max_bytes=4096)
    token = _token(jwks_server, "k1")
    verifier.verify(token)
    for body in (b'{"keys": [' + b" " * 5000 + b"]}", b"not json", b'{"keys": []}', b"[]"):
        jwks_server.body = body
        assert verifier.refresh_keys() is False
        assert verifier.verify(token).sub == "s"


def test_removed_keys_stop_verifying_after_the_next_successful_fetch(jwks_server):
    from cryptography.hazmat.primitives.asymmetric import rsa

    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish(("k1", live.private_key_1()), ("k2", second))
    verifier = _local(jwks_server)
    old = _token(jwks_server, "k1")
    verifier.verify(old)
    jwks_server.publish(("k2", second))
    assert verifier.verify(old).sub == "s"  # cached until the next fetch
    assert verifier.refresh_keys() is True
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(old)
    assert caught.value.reason == Reason.UNKNOWN_KID
    assert verifier.verify(_token(jwks_server, "k2", key=second)).sub == "s"


@pytest.mark.parametrize(
    "extra",
    [{"use": "enc"}, {"alg": "RS512"}, {"key_ops": ["encrypt"]}, {"kty": "EC"}],
)
def test_keys_not_for_signing_with_our_alg_are_ignored(jwks_server, extra):
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks_server.publish(("k1", live.private_key_1()), **extra)
    body = json.loads(jwks_server.body)
    body["keys"].append({**json.loads(RSAAlgorithm.to_jwk(good.public_key())), "kid": "ok"})
    jwks_server.body = json.dumps(body).encode()
    verifier = _local(jwks_server)
    assert verifier.verify(_token(jwks_server, "ok", key=good)).sub == "s"
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(_token(jwks_server, "k1"))
    assert caught.value.reason == Reason.UNKNOWN_KID


def test_negative_cache_answers_without_a_fetch(jwks_server):
    jwks_server.publish(("k1", live.private_key_1()))
    verifier = _local(jwks_server, cooldown=0, negative_ttl=60)
    verifier.verify(_token(jwks_server, "k1"))
    for _ in range(3):
        with pytest.raises(InvalidToken):
            verifier.verify(_token(jwks_server, "ghost"))
    assert jwks_server.requests == 2  # the first fetch and one for the ghost
    assert len(verifier.keys.negative) == 1


def test_policy_object_and_keywords_agree(jwks_server):
    policy = CachePolicy(cooldown=1, max_stale=5)
    verifier = TokenVerifier(jwks_server.url, "aud", cache=policy)
    assert verifier.policy.cooldown == 1 and verifier.policy.max_stale == 5


@pytest.mark.parametrize(
    "metadata",
    [
        {"issuer": "https://elsewhere.example", "jwks_uri": "{url}/jwks"},
        {"issuer": "{url}", "jwks_uri": "http://idp.example/jwks"},
        {"issuer": "{url}"},
        {"issuer": "{url}", "jwks_uri": 42},
    ],
)
def test_a_discovery_document_we_cannot_trust_gives_no_keys(jwks_server, metadata):
    jwks_server.body = json.dumps(metadata).replace("{url}", jwks_server.url).encode()
    verifier = TokenVerifier(jwks_server.url, "aud")
    with pytest.raises(KeySetUnavailable):
        verifier.verify(_token(jwks_server, "k1"))


def test_an_oversized_answer_without_content_length_is_cut(jwks_server):
    """Streaming: the cap holds even when the server declares no length."""
    jwks_server.publish(("k1", live.private_key_1()))
    jwks_server.chunked = True
    verifier = _local(jwks_server, max_bytes=200)
    with pytest.raises(KeySetUnavailable):
        verifier.verify(_token(jwks_server, "k1"))


def test_a_slow_refresh_does_not_hold_up_other_requests(jwks_server):
    """Past freshness, one request refreshes; the others serve the stale set meanwhile."""
    jwks_server.publish(("k1", live.private_key_1()))
    verifier = _local(jwks_server, min_ttl=0.2, max_ttl=0.2, cooldown=0.1)
    token = _token(jwks_server, "k1")
    verifier.verify(token)
    time.sleep(0.25)
    jwks_server.delay = 1.0
    refresher = threading.Thread(target=verifier.verify, args=(token,))
    refresher.start()
    time.sleep(0.2)  # the refresh is in flight
    start = time.monotonic()
    assert verifier.verify(token).sub == "s"
    assert time.monotonic() - start < 0.3
    refresher.join()
    assert jwks_server.requests == 2
