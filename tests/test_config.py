"""Configuration loading: production refuses dev defaults; dev generates its secrets once."""

import base64
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from idp import create_app
from idp.core.config import ConfigError
from idp.core.defaults import DEFAULTS
from tests.helpers import KEK

PRODUCTION = {
    "IDP_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "IDP_KEY_ENCRYPTION_KEY": KEK,
    "DATABASE_URL": "postgresql://idp@db.example/idp",
    "IDP_ISSUER": "https://idp.example",
    "IDP_SMTP_URL": "smtp+starttls://idp:mail-password@mail.example:587",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """create_app reads the environment too: start each test from the defaults alone."""
    for name in DEFAULTS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


def test_production_accepts_explicit_settings(instance):
    app = create_app({**PRODUCTION, "IDP_INSTANCE_PATH": str(instance)})
    assert app.config["SECRET_KEY"] == PRODUCTION["SECRET_KEY"]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://idp@db.example/idp"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["IDP_ADMIN_AUDIENCE"] == "https://idp.example/api/admin"
    assert not instance.exists()  # nothing generated


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        pytest.param("SECRET_KEY", None, id="SECRET_KEY-missing"),
        pytest.param("SECRET_KEY", "", id="SECRET_KEY-empty"),
        pytest.param("SECRET_KEY", "s" * 31, id="SECRET_KEY-short"),
        pytest.param("IDP_KEY_ENCRYPTION_KEY", None, id="IDP_KEY_ENCRYPTION_KEY-missing"),
        pytest.param("IDP_KEY_ENCRYPTION_KEY", "", id="IDP_KEY_ENCRYPTION_KEY-empty"),
        pytest.param("DATABASE_URL", None, id="DATABASE_URL-missing"),
        pytest.param("DATABASE_URL", "sqlite:////srv/idp.sqlite3", id="DATABASE_URL-sqlite"),
        pytest.param("DATABASE_URL", "sqlite+pysqlite:///idp.db", id="DATABASE_URL-pysqlite"),
        pytest.param("IDP_SMTP_URL", None, id="IDP_SMTP_URL-missing"),
        pytest.param("IDP_SMTP_URL", "", id="IDP_SMTP_URL-empty"),
        pytest.param("IDP_ISSUER", None, id="IDP_ISSUER-default-http"),
        pytest.param("IDP_ISSUER", "http://idp.example", id="IDP_ISSUER-http"),
        pytest.param("IDP_ISSUER", "idp.example", id="IDP_ISSUER-no-scheme"),
    ],
)
def test_production_refuses_dev_defaults(instance, setting, value):
    config = {**PRODUCTION, "IDP_INSTANCE_PATH": str(instance)}
    if value is None:
        del config[setting]
    else:
        config[setting] = value
    with pytest.raises(ConfigError, match=rf"^{setting} ") as caught:
        create_app(config)
    assert "production" in str(caught.value)
    if setting in ("SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY"):
        assert not value or value not in str(caught.value)  # a secret is never echoed
    assert not instance.exists()  # refused before any dev fallback is generated


def test_production_refusal_from_the_environment(monkeypatch, instance):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///idp.sqlite3")
    with pytest.raises(ConfigError, match=r"^DATABASE_URL "):
        create_app({"IDP_INSTANCE_PATH": str(instance)})


def test_production_lists_every_problem_at_once(instance):
    """One start-up names them all (it took five attempts, one setting each)."""
    config = {
        "IDP_ENV": "production",
        "IDP_INSTANCE_PATH": str(instance),
        "DATABASE_URL": "sqlite:////srv/idp.sqlite3",
        "SECRET_KEY": "short",
        "IDP_KEY_ENCRYPTION_KEY": "not-a-key",
        "IDP_PAYMENTS": "simulated",
        "IDP_JWKS_MAX_AGE": "soon",
        "IDP_OUTBOX_DELIVERY": "pigeon",
    }
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    assert [problem.split()[0] for problem in caught.value.problems] == [
        "IDP_JWKS_MAX_AGE",
        "IDP_SMTP_URL",
        "DATABASE_URL",
        "IDP_ISSUER",
        "SECRET_KEY",
        "IDP_KEY_ENCRYPTION_KEY",
        "IDP_OUTBOX_DELIVERY",
        "IDP_PAYMENTS=simulated",
    ]
    message = str(caught.value)
    assert message.startswith("the configuration has 8 problems:\n")
    assert all(f"  - {problem}" in message for problem in caught.value.problems)
    assert "short" not in message and "not-a-key" not in message  # secrets never echoed
    assert not instance.exists()


@pytest.mark.parametrize(
    "kek",
    ["not base64!", base64.urlsafe_b64encode(b"k" * 16).decode()],
    ids=["not-base64", "16-bytes"],
)
def test_production_refuses_a_malformed_key_encryption_key(instance, kek):
    config = {**PRODUCTION, "IDP_KEY_ENCRYPTION_KEY": kek, "IDP_INSTANCE_PATH": str(instance)}
    with pytest.raises(ConfigError, match=r"^IDP_KEY_ENCRYPTION_KEY must be 32 bytes") as caught:
        create_app(config)
    assert kek not in str(caught.value)


def test_bad_integers_are_all_listed(instance):
    with pytest.raises(ConfigError) as caught:
        create_app(
            {"IDP_KEY_SIZE": "big", "IDP_JWKS_MAX_AGE": "", "IDP_INSTANCE_PATH": str(instance)}
        )
    assert sorted(p.split()[0] for p in caught.value.problems) == [
        "IDP_JWKS_MAX_AGE",
        "IDP_KEY_SIZE",
    ]


def test_unknown_outbox_delivery(instance):
    with pytest.raises(ConfigError, match=r"^IDP_OUTBOX_DELIVERY must be worker, request or cli"):
        create_app({"IDP_OUTBOX_DELIVERY": "pigeon", "IDP_INSTANCE_PATH": str(instance)})


def test_refusal_report_for_a_terminal_and_for_a_log():
    refused = ConfigError("A must be set", "B must be https")
    assert (
        refused.report()
        == "idp: refusing to start (2 configuration problems): A must be set; B must be https"
    )
    assert refused.report(multiline=True) == (
        "idp: refusing to start: the configuration has 2 problems:\n"
        "  - A must be set\n"
        "  - B must be https"
    )
    assert ConfigError("A must be set").report() == (
        "idp: refusing to start (1 configuration problem): A must be set"
    )


ROOT = Path(__file__).resolve().parent.parent


def refused_start(args: list[str], instance) -> subprocess.CompletedProcess:
    """Start an entry point as a server or the flask command would, in production with
    nothing set: it must refuse in one message, without a traceback."""
    env = {"PATH": os.environ["PATH"], "IDP_ENV": "production", "IDP_INSTANCE_PATH": str(instance)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args",
    [
        [sys.executable, "-c", "import wsgi"],
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "users", "list"],
        # Flask finds the factory and calls it itself: click reports the refusal.
        [str(Path(sys.executable).parent / "flask"), "--app", "idp", "users", "list"],
    ],
    ids=["wsgi", "flask-cli", "flask-factory"],
)
def test_entry_points_refuse_in_one_message_without_a_traceback(instance, args):
    result = refused_start(args, instance)
    assert result.returncode == 4  # gunicorn's "App failed to load": its master stops
    assert "Traceback" not in result.stderr and result.stdout == ""
    [line] = result.stderr.splitlines()  # one record in a server's log
    assert line.removeprefix("Error: ").startswith(
        "idp: refusing to start (5 configuration problems): "
    )
    for setting in ("SECRET_KEY", "IDP_KEY_ENCRYPTION_KEY", "DATABASE_URL", "IDP_SMTP_URL"):
        assert f"{setting} must be set when IDP_ENV=production" in line
    assert "IDP_ISSUER must be an https:// URL" in line
    assert not instance.exists()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("IDP_KEY_SIZE", "big"),
        ("IDP_JWKS_MAX_AGE", "1.5"),
        ("IDP_ACCESS_TOKEN_LIFETIME", ""),
        ("IDP_MAX_ACCESS_TOKEN_LIFETIME", None),
        ("IDP_CLIENT_CACHE_SECONDS", "5s"),
        ("IDP_KEY_REFRESH_SECONDS", [10]),
    ],
)
def test_bad_integers(instance, setting, value):
    with pytest.raises(ConfigError, match=rf"^{setting} must be an integer"):
        create_app({setting: value, "IDP_INSTANCE_PATH": str(instance)})


def test_bad_integer_from_the_environment(monkeypatch, instance):
    monkeypatch.setenv("IDP_JWKS_MAX_AGE", "five minutes")
    with pytest.raises(ConfigError, match=r"^IDP_JWKS_MAX_AGE must be an integer"):
        create_app({"IDP_INSTANCE_PATH": str(instance)})


def test_integers_from_the_environment_are_converted(monkeypatch, instance):
    monkeypatch.setenv("IDP_JWKS_MAX_AGE", "120")
    app = create_app({"IDP_INSTANCE_PATH": str(instance)})
    assert app.config["IDP_JWKS_MAX_AGE"] == 120


def test_explicit_mapping_overrides_environment(monkeypatch, instance):
    monkeypatch.setenv("IDP_ISSUER", "https://from-env.example/")
    app = create_app({"IDP_INSTANCE_PATH": str(instance)})
    assert app.config["IDP_ISSUER"] == "https://from-env.example"
    app = create_app({"IDP_INSTANCE_PATH": str(instance), "IDP_ISSUER": "https://mapped.example"})
    assert app.config["IDP_ISSUER"] == "https://mapped.example"


@pytest.mark.parametrize("env", ["staging", "Production", ""])
def test_unknown_environment(instance, env):
    with pytest.raises(ConfigError, match=r"^IDP_ENV "):
        create_app({"IDP_ENV": env, "IDP_INSTANCE_PATH": str(instance)})


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def common_umask():
    """Under umask 022 a file written with default permissions would be world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_dev_fallbacks_are_generated_private_and_reused(instance, common_umask):
    first = create_app({"IDP_INSTANCE_PATH": str(instance)})
    secret_key, kek = instance / "secret_key", instance / "key_encryption_key"
    assert mode(secret_key) == 0o600
    assert mode(kek) == 0o600
    assert secret_key.read_text() == first.config["SECRET_KEY"]
    assert kek.read_text() == first.config["IDP_KEY_ENCRYPTION_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32
    assert len(base64.urlsafe_b64decode(first.config["IDP_KEY_ENCRYPTION_KEY"])) == 32
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'idp.sqlite3'}"

    second = create_app({"IDP_INSTANCE_PATH": str(instance)})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["IDP_KEY_ENCRYPTION_KEY"] == first.config["IDP_KEY_ENCRYPTION_KEY"]
    assert mode(secret_key) == 0o600


def test_each_instance_folder_gets_its_own_secrets(tmp_path):
    one = create_app({"IDP_INSTANCE_PATH": str(tmp_path / "one")})
    two = create_app({"IDP_INSTANCE_PATH": str(tmp_path / "two")})
    assert one.config["SECRET_KEY"] != two.config["SECRET_KEY"]
    assert one.config["IDP_KEY_ENCRYPTION_KEY"] != two.config["IDP_KEY_ENCRYPTION_KEY"]


def test_instance_path_from_the_environment(monkeypatch, instance):
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(instance))
    app = create_app()
    assert (instance / "secret_key").read_text() == app.config["SECRET_KEY"]


def test_existing_instance_secrets_are_read(instance):
    instance.mkdir()
    (instance / "secret_key").write_text("kept-from-last-run\n")
    app = create_app({"IDP_INSTANCE_PATH": str(instance)})
    assert app.config["SECRET_KEY"] == "kept-from-last-run"


def test_explicit_settings_generate_nothing(instance, tmp_path):
    app = create_app(
        {
            "IDP_INSTANCE_PATH": str(instance),
            "SECRET_KEY": "k" * 40,
            "IDP_KEY_ENCRYPTION_KEY": KEK,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        }
    )
    assert app.config["SECRET_KEY"] == "k" * 40
    assert not instance.exists()


def test_the_flask_session_cookie_has_its_own_name(instance):
    """Cookies ignore ports: Flask's default name ``session`` would collide with other
    apps on the host."""
    app = create_app({"IDP_INSTANCE_PATH": str(instance)})
    assert app.config["SESSION_COOKIE_NAME"] == "idp_csrf"
    named = create_app({"IDP_INSTANCE_PATH": str(instance), "SESSION_COOKIE_NAME": "mine"})
    assert named.config["SESSION_COOKIE_NAME"] == "mine"


def test_pages_set_the_session_cookie_under_that_name(client):
    assert client.get("/login").status_code == 200
    assert client.get_cookie("idp_csrf") is not None
    assert client.get_cookie("session") is None


# -- make help -------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/usr/bin/make").exists(), reason="needs GNU make")
def test_make_help_lists_every_target_with_its_comment():
    makefile = (ROOT / "Makefile").read_text().splitlines()
    documented = {}  # target -> the first line of the ## comment above it
    comment: list[str] = []
    for line in makefile:
        if line.startswith("## "):
            comment.append(line[3:])
        elif not line:
            comment = []
        elif target := re.match(r"([a-z][\w-]*):(?!=)", line):
            documented[target.group(1)] = comment[0] if comment else ""
            comment = []
    result = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    shown = {}
    for line in result.stdout.splitlines():
        if line[2:3] != " ":  # a target's first line; continuation lines are indented
            name, _, text = line.strip().partition(" ")
            shown[name] = text.strip()
    assert {"run", "test", "lint", "serve", "demo", "bench", "help"} <= shown.keys()
    assert shown == documented
