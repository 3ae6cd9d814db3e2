"""Run by the tests inside the repository's venv, against the server's database, through
the operator CLI: the migrations (``flask db upgrade``), the fixed signing keys (so tests
can also sign tokens the real JWKS vouches for), partner apps, users with credits, a
package.  Prints JSON."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from idp import create_app
from idp.core.db_types import utcnow
from idp.core.extensions import db
from keys import services as key_services
from keys.models import ACTIVE, NEXT

FILES = Path(__file__).resolve().parents[3] / "tests" / "files"
SHOP = "https://shop.example"
SCOPES = "openid profile email credits:read credits:consume credits:purchase"


def key(n: int):
    return serialization.load_pem_private_key((FILES / f"rsa_key_{n}.pem").read_bytes(), None)


def cli(runner, *args: str) -> str:
    result = runner.invoke(args=list(args), catch_exceptions=False)
    if result.exit_code != 0:
        sys.exit(f"flask {' '.join(args[:2])} failed: {result.output}")
    return result.output


def main() -> None:
    app = create_app()
    runner = app.test_cli_runner()
    cli(runner, "db", "upgrade")
    with app.app_context():
        long_ago = utcnow() - timedelta(days=1)
        active = key_services.import_key(key(1), ACTIVE, long_ago)
        nxt = key_services.import_key(key(2), NEXT, long_ago)
        kids = {"active": active.kid, "next": nxt.kid}
        db.session.commit()
    shop = json.loads(
        cli(runner, "apps", "create", "--name", "Shop", "--client-id", "shop",
            "--type", "confidential", "--redirect-uri", f"{SHOP}/cb", "--origin", SHOP,
            "--scope", SCOPES, "--audience", SHOP, "--json")
    )  # fmt: skip
    other = json.loads(
        cli(runner, "apps", "create", "--name", "Other", "--client-id", "other",
            "--type", "confidential", "--scope", "credits:read", "--audience",
            "https://other.example", "--json")
    )  # fmt: skip
    users = {}
    for email, credits in (("ada@example.com", 100), ("bob@example.com", 0)):
        users[email] = json.loads(
            cli(runner, "users", "create", "--email", email, "--password",
                "correct horse battery", "--name", email[:3], "--verified", "--json")
        )  # fmt: skip
        if credits:
            cli(runner, "wallet", "grant", "--email", email, "--credits", str(credits),
                "--reason", "sdk tests")  # fmt: skip
    cli(runner, "wallet", "packages", "create", "--id", "pack-10", "--name", "Ten",
        "--credits", "10", "--price", "500")  # fmt: skip
    print(json.dumps({"kids": kids, "shop": shop, "other": other, "users": users}))


if __name__ == "__main__":
    main()
