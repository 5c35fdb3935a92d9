"""Provider credentials and session ids at rest: AES-256-GCM with a key from the settings.

A stored value is `b"F1" + nonce (12 bytes) + ciphertext-and-tag`; the connection's id is the associated
data, so a ciphertext copied onto another connection row does not decrypt. The key is
`FLORIN_ENCRYPTION_KEY` (32 bytes, written in base64 or hex). Outside production, when it is not set, a key
is derived from `FLORIN_SECRET_KEY` with HKDF-SHA256 and a warning is logged; production refuses to start
without it (app/config.py). A wrong key, a tampered value or a value of an unknown version raises
`CredentialsError` and never returns garbage.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import uuid
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger("florin.sync.crypto")

KEY_BYTES = 32
NONCE_BYTES = 12
VERSION = b"F1"
_HKDF_SALT = b"florin/connections"
_HKDF_INFO = b"florin connection credentials v1"


class CredentialsError(Exception):
    """Stored credentials that cannot be decrypted with the configured key (wrong key, tampered, unknown)."""


def parse_key(text: str) -> bytes:
    """A 32-byte key written as 64 hex digits or as base64 (standard or URL-safe); ValueError otherwise."""
    value = text.strip()
    if len(value) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    try:
        standard = value.replace("-", "+").replace("_", "/")
        raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError("FLORIN_ENCRYPTION_KEY must be 32 bytes written as 64 hex digits or in base64 "
                         "(e.g. `python -c \"import os, base64; print(base64.b64encode(os.urandom(32)).decode())\"`)")
    return raw


def derive_key(secret: str) -> bytes:
    """The development key: HKDF-SHA256 of the secret key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        secret.encode())


class Cipher:
    """AES-GCM sealing of small values, bound to an owner id (the associated data)."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, owner: uuid.UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, owner.bytes)

    def open(self, blob: bytes, owner: uuid.UUID) -> bytes:
        data = bytes(blob)
        if not data.startswith(VERSION) or len(data) < len(VERSION) + NONCE_BYTES + 16:
            raise CredentialsError("the stored credentials are not in a known format")
        nonce = data[len(VERSION):len(VERSION) + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, data[len(VERSION) + NONCE_BYTES:], owner.bytes)
        except InvalidTag as exc:
            raise CredentialsError("the stored credentials cannot be decrypted with the configured key") from exc

    def seal_json(self, value: dict[str, Any], owner: uuid.UUID) -> bytes:
        return self.seal(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), owner)

    def open_json(self, blob: bytes | None, owner: uuid.UUID) -> dict[str, Any]:
        """The stored value ({} when nothing is stored); CredentialsError when it cannot be read."""
        if not blob:
            return {}
        try:
            value = json.loads(self.open(blob, owner))
        except ValueError as exc:
            raise CredentialsError("the stored credentials are not valid JSON") from exc
        if not isinstance(value, dict):
            raise CredentialsError("the stored credentials are not an object")
        return value


def cipher_for(settings: Any) -> Cipher:
    """The cipher of these settings (`encryption_key`, else the development key derived from `secret_key`)."""
    configured = settings.encryption_key.get_secret_value() if settings.encryption_key is not None else None
    return _cipher(configured, settings.secret_key.get_secret_value())


@lru_cache(maxsize=8)
def _cipher(configured: str | None, secret: str) -> Cipher:
    if configured:
        return Cipher(parse_key(configured))
    log.warning("FLORIN_ENCRYPTION_KEY is not set: provider credentials are encrypted with a key derived from "
                "FLORIN_SECRET_KEY (acceptable in development only; production requires FLORIN_ENCRYPTION_KEY)")
    return Cipher(derive_key(secret))
