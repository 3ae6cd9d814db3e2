"""One code, sent by several browsers at the same instant (a phished code replayed in a
race): exactly one is accepted.  The claim is a conditional UPDATE of the last step, so
PostgreSQL's row lock decides."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest

from tests.helpers import Browser, csrf_of

from .mfa_actions import Mfa, code_at

COUNT = 6


@pytest.mark.postgres(only=True)
def test_one_code_sent_at_once_by_several_browsers_is_accepted_once(
    committed_db, app, user, monkeypatch
):
    owner = Mfa(app.test_client())
    assert owner.browser.login().status_code == 302
    secret, _ = owner.enrol(monkeypatch)
    waiting = []
    for _ in range(COUNT):  # each with a correct password, waiting for its second step
        http = app.test_client()
        assert Browser(http).login().status_code == 302
        waiting.append((http, csrf_of(http.get("/login/second-factor").data)))
    barrier = Barrier(COUNT, timeout=30)

    def send(item):
        http, token = item
        form = {"csrf_token": token, "code": code_at(secret, 0)}
        barrier.wait()
        return http.post("/login/second-factor", data=form).status_code

    with ThreadPoolExecutor(max_workers=COUNT) as pool:
        statuses = sorted(pool.map(send, waiting))
    assert statuses == [302] + [401] * (COUNT - 1)
