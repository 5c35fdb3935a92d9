"""Provider credentials at rest: AES-GCM with the configured key (or a development key), bound to the row."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.sync.crypto import Cipher, CredentialsError, cipher_for, derive_key, parse_key

OWNER = uuid.UUID("00000000-0000-7000-8000-0000000000aa")
SESSION = {"session_id": "mcp-session-5d2f0c1e-0b7a-4f5e-9a57-0c3f1b2a9d11", "initialize": {"protocolVersion": "x"}}


def test_sealed_credentials_round_trip_and_hide_the_session_id() -> None:
    # given
    cipher = Cipher(os.urandom(32))
    # when
    blob = cipher.seal_json(SESSION, OWNER)
    again = cipher.seal_json(SESSION, OWNER)
    # then: no part of the session id in clear, a fresh nonce each time, and it decrypts to the same value
    assert SESSION["session_id"].encode() not in blob and b"5d2f0c1e" not in blob and b"initialize" not in blob
    assert blob != again and blob[:2] == b"F1" and len(blob) == 2 + 12 + len(
        b'{"initialize":{"protocolVersion":"x"},"session_id":"mcp-session-5d2f0c1e-0b7a-4f5e-9a57-0c3f1b2a9d11"}') + 16
    assert cipher.open_json(blob, OWNER) == SESSION == cipher.open_json(again, OWNER)
    assert cipher.open_json(None, OWNER) == {}


def test_a_wrong_key_another_row_or_tampering_fail_cleanly() -> None:
    cipher = Cipher(os.urandom(32))
    blob = cipher.seal_json(SESSION, OWNER)
    with pytest.raises(CredentialsError, match="cannot be decrypted"):
        Cipher(os.urandom(32)).open_json(blob, OWNER)
    with pytest.raises(CredentialsError, match="cannot be decrypted"):
        cipher.open_json(blob, uuid.uuid4())  # copied onto another connection
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(CredentialsError):
        cipher.open_json(tampered, OWNER)
    for junk in (b"plain text", b"F1short", b"F2" + blob[2:]):
        with pytest.raises(CredentialsError, match="known format|cannot be decrypted"):
            cipher.open_json(junk, OWNER)


def test_keys_in_hex_or_base64_and_the_development_key() -> None:
    raw = bytes(range(32))
    assert parse_key(raw.hex()) == raw == parse_key(raw.hex().upper())
    assert parse_key(base64.b64encode(raw).decode()) == raw
    assert parse_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    for bad in ("", "abc", "00" * 31, base64.b64encode(b"x" * 16).decode(), "zz" * 32):
        with pytest.raises(ValueError, match="32 bytes"):
            parse_key(bad)
    # the development key is derived from the secret key: stable, and different per secret
    assert derive_key("s1") == derive_key("s1") != derive_key("s2") and len(derive_key("s1")) == 32
    dev = Settings(env="development", secret_key="a-development-secret-of-some-length")
    sealed = cipher_for(dev).seal(b"x", OWNER)
    assert Cipher(derive_key("a-development-secret-of-some-length")).open(sealed, OWNER) == b"x"
    configured = Settings(env="development", encryption_key=raw.hex())
    assert Cipher(raw).open(cipher_for(configured).seal(b"y", OWNER), OWNER) == b"y"


def test_production_requires_a_valid_encryption_key() -> None:
    values = {"env": "production", "secret_key": "x" * 40, "database_url": "postgresql+asyncpg://h/db",
              "redis_url": "redis://h:6379/0"}
    with pytest.raises(ValidationError, match="FLORIN_ENCRYPTION_KEY"):
        Settings(**values)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(**values, encryption_key="too-short")  # type: ignore[arg-type]
    assert Settings(**values, encryption_key="ab" * 32).is_production  # type: ignore[arg-type]
