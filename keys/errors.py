"""Key-store errors."""

from idp.core.errors import IdPError


class KeyStoreError(IdPError):
    error = "key_store_error"
    description = "The key store cannot complete the operation."
    status_code = 409


class RotationNotReady(KeyStoreError):
    error = "rotation_not_ready"


class KeyDecryptionFailed(KeyStoreError):
    error = "server_error"
    description = "A signing key cannot be decrypted with the configured IDP_KEY_ENCRYPTION_KEY."
    status_code = 500
