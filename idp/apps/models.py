"""The partner-app registry (``app_integrations``): every app is an OAuth client."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.core.db_types import UTCDateTime
from idp.core.defaults import DEFAULTS
from idp.core.extensions import db

CONFIDENTIAL, PUBLIC = "confidential", "public"
ACTIVE, DISABLED = "active", "disabled"

# What a registered app may use, named once: the grants, endpoints and discovery
# metadata (idp.oauth2) read these.
#: RFC 6749 section 2.3.1: how a confidential app authenticates (one method a request).
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
#: RFC 7591 section 2: a public app does not authenticate.
NO_AUTH = "none"
#: RFC 6749 section 3.1.1: the authorization code flow only.
RESPONSE_TYPES = ("code",)
#: RFC 6749 sections 4.1, 6 (any app) and 4.4 (confidential apps only).
USER_GRANT_TYPES = ("authorization_code", "refresh_token")
CLIENT_CREDENTIALS = "client_credentials"


class AppIntegration(db.Model):
    __tablename__ = "app_integrations"
    # Two apps of one name would look alike on the consent page: the index settles two
    # registrations racing past the service's check (migration 0012).
    __table_args__ = (Index("uq_app_integrations_lower_name", text("lower(name)"), unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    client_type: Mapped[str] = mapped_column(String(16))
    # SHA-256 of a 256-bit random secret: a slow password hash adds nothing to a secret
    # with that much entropy and would cap the token endpoint at a few dozen grants/s.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    allowed_origins: Mapped[list] = mapped_column(JSON, default=list)
    allowed_scopes: Mapped[list] = mapped_column(JSON, default=list)
    audience: Mapped[str] = mapped_column(String(255))
    access_token_lifetime: Mapped[int] = mapped_column(Integer)
    # Refresh tokens: each rotation extends the idle lifetime, never past the absolute one.
    refresh_token_idle_lifetime: Mapped[int] = mapped_column(
        Integer, server_default=str(DEFAULTS["IDP_REFRESH_IDLE_LIFETIME"])
    )
    refresh_token_absolute_lifetime: Mapped[int] = mapped_column(
        Integer, server_default=str(DEFAULTS["IDP_REFRESH_ABSOLUTE_LIFETIME"])
    )
    # Seconds during which a rotated refresh token presented again supersedes its
    # successor instead of revoking the family: 0 (any reuse revokes) unless the app's
    # tabs may race (RFC 9700 section 4.14.2).
    refresh_reuse_grace_seconds: Mapped[int] = mapped_column(Integer, server_default="0")
    # OIDC RP-Initiated Logout: where the app may ask us to send the browser afterwards.
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # Branding on the app's hosted pages (idp.ui): an https logo (the pages' CSP allows
    # its origin only), a colour that passes 4.5:1 with white text (idp.apps.branding),
    # and the app's home, privacy policy and terms (RFC 7591 section 2 names).
    logo_uri: Mapped[str | None] = mapped_column(String(512))
    brand_color: Mapped[str | None] = mapped_column(String(7))
    client_uri: Mapped[str | None] = mapped_column(String(512))
    policy_uri: Mapped[str | None] = mapped_column(String(512))
    tos_uri: Mapped[str | None] = mapped_column(String(512))
    # Who hears about the app's integration (its webhook endpoint disabled after failure).
    contact_email: Mapped[str | None] = mapped_column(String(254))
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every sign-in to this app needs a second factor (OIDC acr idp.users.factors.ACR_2FA).
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
