"""``users.updated_at``: the last change of the profile claims, and userinfo's ``updated_at``."""

from datetime import timedelta

from idp.core.db_types import utcnow
from idp.oauth2.services import epoch
from idp.users import services as users
from idp.users.models import User
from tests.helpers import PASSWORD, bearer, make_user, mint_tokens


def test_sign_up_sets_it_and_verification_moves_it(db, mailbox):
    person = users.sign_up("grace@example.com", PASSWORD, "Grace")
    assert person.updated_at == person.created_at
    person.updated_at = utcnow() - timedelta(days=1)
    db.session.commit()
    code = mailbox.messages[-1]["Subject"].rsplit(" ", 1)[1]

    users.verify_email(person, code)

    assert person.updated_at > utcnow() - timedelta(minutes=1)


def test_userinfo_updated_at_is_the_profile_change_not_the_password_change(client, apps, db):
    shop = apps.create(client_id="shop", allowed_scopes="openid profile", audience="https://s.x")
    person = make_user()
    profile_changed = utcnow() - timedelta(days=30)
    person.updated_at = profile_changed
    person.password_changed_at = utcnow() - timedelta(days=1)
    db.session.commit()
    token = mint_tokens(shop, person, "openid profile")["access_token"]

    response = client.get("/oauth/userinfo", headers=bearer(token))

    assert response.status_code == 200, response.json
    assert response.json["updated_at"] == epoch(profile_changed)


def test_userinfo_falls_back_to_created_at_for_rows_of_the_previous_deploy(client, apps, db):
    shop = apps.create(client_id="shop", allowed_scopes="openid profile", audience="https://s.x")
    person = make_user()
    person.updated_at = None  # as the code before this column inserted users
    person.password_changed_at = person.created_at + timedelta(days=1)
    db.session.commit()
    token = mint_tokens(shop, person, "openid profile")["access_token"]

    response = client.get("/oauth/userinfo", headers=bearer(token))

    assert response.json["updated_at"] == epoch(db.session.get(User, person.id).created_at)
