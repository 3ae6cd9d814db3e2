"""Registry errors (RFC 7591 section 3.2.2 codes where one fits)."""

from idp.core.errors import IdPError, NotFound


class RegistryError(IdPError):
    error = "invalid_client_metadata"
    description = "The app metadata is invalid."
    status_code = 400


class InvalidRedirectURI(RegistryError):
    error = "invalid_redirect_uri"


class ClientIdInUse(RegistryError):
    error = "client_id_in_use"


class NameInUse(RegistryError):
    error = "name_in_use"


class AppNotFound(NotFound):
    description = "No app is registered with that client_id."
