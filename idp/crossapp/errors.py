"""Cross-app API errors: stable codes for per-app metadata and roles."""

from idp.core.errors import IdPError


class CrossAppError(IdPError):
    """Base of this package's errors (400 ``invalid_request`` unless a subclass says)."""


class InvalidMetadata(CrossAppError):
    error = "invalid_metadata"
    description = "The metadata document is invalid."


class InvalidRole(CrossAppError):
    error = "invalid_role"
    description = "Roles are 1-64 characters of a-z, 0-9, ':', '.', '_' or '-'."
