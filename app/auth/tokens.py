"""Access tokens (signed JWT, short-lived), opaque refresh and API tokens (stored hashed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt

from app.errors import AuthError

ALGORITHM = "HS256"
API_TOKEN_PREFIX = "flo_"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    jti: uuid.UUID
    family_id: uuid.UUID
    token_version: int
    expires_at: dt.datetime


def issue_access_token(secret: str, *, user_id: uuid.UUID, family_id: uuid.UUID, token_version: int,
                       ttl_seconds: int, now: dt.datetime | None = None) -> tuple[str, AccessClaims]:
    now = now or dt.datetime.now(dt.UTC)
    # whole seconds, so the `exp` claim and the `expiresAt` clients are told are the same instant
    expires = (now + dt.timedelta(seconds=ttl_seconds)).replace(microsecond=0)
    claims = AccessClaims(user_id, uuid.uuid4(), family_id, token_version, expires)
    token = jwt.encode(
        {"sub": str(user_id), "jti": str(claims.jti), "fam": str(family_id), "ver": token_version,
         "iat": int(now.timestamp()), "exp": expires, "typ": "access"},
        secret, algorithm=ALGORITHM,
    )
    return token, claims


def decode_access_token(secret: str, token: str) -> AccessClaims:
    try:
        data = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "jti"]})
        if data.get("typ") != "access":
            raise AuthError("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(data["sub"]), jti=uuid.UUID(data["jti"]), family_id=uuid.UUID(data["fam"]),
            token_version=int(data["ver"]), expires_at=dt.datetime.fromtimestamp(data["exp"], dt.UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise AuthError("invalid token") from exc


def new_opaque_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_api_token(token: str) -> bool:
    return token.startswith(API_TOKEN_PREFIX)
