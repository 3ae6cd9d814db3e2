"""RFC 6749 section 1.6 / RFC 9700: the token endpoints refuse plain http, except to a
loopback host (development); the scheme seen is the one the proxy reports
(``IDP_TRUSTED_PROXIES``)."""

import pytest

from tests.helpers import basic


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_plain_http_to_a_remote_host_is_refused(app, apps, path):
    shop = apps.confidential("shop")
    form = {"grant_type": "client_credentials", "token": "x"}
    headers = basic(shop)
    http = app.test_client()
    refused = http.post(path, data=form, headers=headers, base_url="http://idp.example")
    assert refused.status_code == 400
    assert refused.json["error"] == "insecure_transport"
    served = http.post(path, data=form, headers=headers, base_url="https://idp.example")
    assert served.status_code == 200
    assert http.post(path, data=form, headers=headers).status_code == 200  # localhost
