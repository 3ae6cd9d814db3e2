"""Passkeys (WebAuthn credentials): registration, sign-in without a password, and the
second factor after one.  ``services`` holds the ceremonies; ``challenges`` the
single-use server-side state each ceremony is bound to."""
