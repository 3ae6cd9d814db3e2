"""``make cluster``: two gunicorn nodes on different ports behind the balancer, sharing
our own PostgreSQL and Redis.  First the checks that they behave as one system (each
acts on one node and observes on the other): SSO session, rate limits, revocation,
refresh-token reuse detection, signing-key rotation, client edits.  Then the mixed
workload through the balancer while one node is killed (SIGKILL of its master and
workers) and later started again: no acknowledged write may be lost.

    python -m reliability.cluster [--seconds 60] [--clients 32]

Exits 1 when a check fails or the run's verdict does (reliability.workload)."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time

import requests

from . import faults, services, workload
from .stack import APP_SCOPES, PASSWORD, REDIRECT, Stack

LIMITED = "limited@soak.example"  # the account the rate-limit check guesses against


def _node(stack: Stack, index: int) -> str:
    return f"http://127.0.0.1:{stack.node_ports[index]}"


def _client(stack: Stack, base: str, email: str) -> workload.Client:
    return workload.Client(base, stack.shop, email, workload.Record(), time.monotonic() + 60)


def check_sso(stack: Stack) -> str:
    """Signed in on node 0, the browser is recognised by node 1."""
    browser = _client(stack, _node(stack, 0), stack.users[0])
    browser.sign_in_and_authorize()  # signs in and consents on node 0
    browser.base = _node(stack, 1)
    query = "response_type=code&client_id=shop&scope=openid&state=s&redirect_uri=" + REDIRECT
    answer = browser.http.get(f"{browser.base}/oauth/authorize?{query}", allow_redirects=False)
    location = answer.headers.get("Location", "")
    assert answer.status_code == 302 and location.startswith(REDIRECT), (answer, location)
    return "signed in on node 0, node 1 issued a code without asking again"


def check_rate_limit(stack: Stack) -> str:
    """Wrong passwords alternate between the nodes; the per-account limit (5 a minute)
    counts them together."""
    for attempt in range(1, 12):
        base = _node(stack, attempt % 2)
        http = requests.Session()
        page = http.get(f"{base}/login")
        form = {"email": LIMITED, "password": "wrong", "csrf_token": workload._csrf(page.text)}
        answer = http.post(f"{base}/login", data=form, allow_redirects=False)
        if answer.status_code == 429:
            assert attempt == 6, f"refused at attempt {attempt}, not after the 5 allowed"
            return "5 wrong passwords over both nodes, the 6th refused (429) on either"
        assert answer.status_code == 401, answer.status_code
    raise AssertionError("never refused: each node counted on its own")


def _grant(base: str, stack: Stack, scope: str = "credits:read"):
    form = {"grant_type": "client_credentials", "scope": scope}
    auth = (stack.shop["client_id"], stack.shop["client_secret"])
    return requests.post(f"{base}/oauth/token", data=form, auth=auth, timeout=10)


def _introspect(base: str, stack: Stack, token: str) -> bool:
    auth = (stack.shop["client_id"], stack.shop["client_secret"])
    answer = requests.post(f"{base}/oauth/introspect", data={"token": token}, auth=auth, timeout=10)
    return answer.json()["active"]


def check_revocation(stack: Stack) -> str:
    token = _grant(_node(stack, 0), stack).json()["access_token"]
    assert _introspect(_node(stack, 1), stack, token)  # node 1 caches "not revoked"
    auth = (stack.shop["client_id"], stack.shop["client_secret"])
    requests.post(f"{_node(stack, 0)}/oauth/revoke", data={"token": token}, auth=auth, timeout=10)
    assert not _introspect(_node(stack, 1), stack, token)
    return "revoked on node 0, inactive at once on node 1 (which had cached it active)"


def check_refresh_reuse(stack: Stack) -> str:
    user = _client(stack, _node(stack, 0), stack.users[1])
    user.sign_in_and_authorize()
    first = user.tokens["refresh_token"]
    user.refresh()  # node 0 rotates it
    second = user.tokens["refresh_token"]
    auth = (stack.shop["client_id"], stack.shop["client_secret"])
    for base, token in ((_node(stack, 1), first), (_node(stack, 0), second)):
        form = {"grant_type": "refresh_token", "refresh_token": token}
        answer = requests.post(f"{base}/oauth/token", data=form, auth=auth, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant", answer
    return "the spent token replayed on node 1 is refused, and so is its successor on node 0"


def _kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _published(base: str) -> set[str]:
    jwks = requests.get(f"{base}/.well-known/jwks.json", timeout=10).json()
    return {key["kid"] for key in jwks["keys"]}


def check_key_rotation(stack: Stack) -> str:
    before = _kid(_grant(_node(stack, 0), stack).json()["access_token"])
    stack.flask("keys", "rotate")
    started = time.monotonic()
    while time.monotonic() - started < 20:
        kids = {_kid(_grant(_node(stack, n), stack).json()["access_token"]) for n in (0, 1)}
        published = [_published(_node(stack, n)) for n in (0, 1)]
        if before not in kids and len(kids) == 1 and all(kids <= p for p in published):
            took = time.monotonic() - started
            return f"rotated by the CLI: both nodes sign with the new key after {took:.1f} s"
        time.sleep(0.5)
    raise AssertionError(f"after 20 s the nodes signed with {kids} (before: {before})")


def _all_nodes_within(stack: Stack, status: int, seconds: float = 20) -> float:
    """Seconds until a credits:read grant answers ``status`` on both nodes."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if all(_grant(_node(stack, n), stack).status_code == status for n in (0, 1)):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"a node did not answer {status} within {seconds:.0f} s")


def check_client_edit(stack: Stack) -> str:
    """A scope removed with the CLI (another process) is refused by both nodes once
    their cached copy of the app expires (IDP_CLIENT_CACHE_SECONDS, 5)."""
    _all_nodes_within(stack, 200)  # both nodes hold the app in their cache
    narrowed = " ".join(s for s in APP_SCOPES.split() if s != "credits:read")
    stack.flask("apps", "update", "shop", "--scope", narrowed)
    try:
        took = _all_nodes_within(stack, 400)
    finally:
        stack.flask("apps", "update", "shop", "--scope", APP_SCOPES)
    back = _all_nodes_within(stack, 200)
    return f"a scope removed by the CLI: refused on both nodes in {took:.1f} s, back {back:.1f} s"


CHECKS = [check_sso, check_rate_limit, check_revocation, check_refresh_reuse,
          check_key_rotation, check_client_edit]  # fmt: skip


def run_checks(stack: Stack) -> list[tuple[str, bool, str]]:
    results = []
    for check in CHECKS:
        try:
            results.append((check.__name__, True, check(stack)))
        except Exception as exc:  # each check's failure is reported, the rest still run
            results.append((check.__name__, False, f"{type(exc).__name__}: {exc}"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="of load (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent (default 32)")
    args = parser.parse_args()
    if reason := services.missing():
        print(f"cluster: cannot start its own services: {reason}", file=sys.stderr)
        return 2
    with Stack(nodes=2, workers=1, threads=4, users=4) as stack:
        stack.flask("users", "create", "--email", LIMITED, "--password", PASSWORD, "--verified")
        results = run_checks(stack)
        for name, ok, detail in results:
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        record = workload.Record()
        done: list[str] = []

        def kill_and_restart():
            time.sleep(args.seconds * 0.3)
            start = time.monotonic()
            stack.kill_node(1)
            time.sleep(args.seconds * 0.3)
            stack.start_node(1)
            # Failures are expected only for the requests node 1 held when it died.
            record.windows.append(("node 1 SIGKILL", start, start + faults.GRACE))
            done.append(
                f"node 1 SIGKILL at {start - record.started:.0f} s, started again"
                f" {time.monotonic() - start:.0f} s later; node 0 served meanwhile"
                f" (balancer connections per node: {stack.balancer.connections})"
            )

        record.started = time.monotonic()
        injector = threading.Thread(target=kill_and_restart, daemon=True)
        injector.start()
        print(f"cluster: {args.clients} clients for {args.seconds:.0f} s on {stack.url}")
        clients = workload.run_clients(
            stack.url, stack.shop, stack.users, args.clients, args.seconds, record
        )
        injector.join(120)
        audit = stack.audit()
        problems = workload.verdict(record, clients, audit)
        problems += [f"check {name} failed" for name, ok, _ in results if not ok]
        print(workload.report(record, problems, audit, done))
        logged = stack.errors_logged()
        print(f"server errors logged: {len(logged)} (in {stack.instance})")
        for line in logged[:40]:
            print("  " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
