"""A consent decision reads the user's consent row once (asking whether consent is
needed and recording the decision share it)."""

from sqlalchemy import event

from idp.oauth2 import services
from tests.helpers import csrf_of


def test_allowing_reads_the_consent_once(flow, shop, user, db):
    url = flow.url(shop, "openid email")
    page = flow.http.get(url)
    assert page.status_code == 200
    reads = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM consents" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        answer = flow.http.post(url, data={"csrf_token": csrf_of(page.data), "decision": "allow"})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert answer.status_code == 302
    assert len(reads) == 1, reads
    assert services.granted_scopes(user.id, "shop") == {"openid", "email"}
