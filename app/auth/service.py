"""Rules of registration, login, token rotation and revocation, profile changes and API tokens."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as repo
from app.auth.models import ApiToken, AuditEntry, RefreshToken, Scope, User, utcnow
from app.auth.passwords import hash_password, verify_password
from app.auth.principal import Principal
from app.auth.tokens import (
    API_TOKEN_PREFIX,
    decode_access_token,
    hash_token,
    is_api_token,
    issue_access_token,
    new_opaque_token,
)
from app.categories.service import seed_builtin_categories
from app.errors import AuthError, Collector, Conflict, DomainError, ErrorCode, NotFound
from app.money import parse_currency, validate_time_zone

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class AuthConfig:
    secret: str
    access_ttl: int
    refresh_ttl: int
    password_min_length: int = 10
    hash_time_cost: int = 3
    hash_memory_kib: int = 65536

    @classmethod
    def from_settings(cls, s: Any) -> AuthConfig:
        return cls(secret=s.secret_key.get_secret_value(), access_ttl=s.access_token_ttl_seconds,
                   refresh_ttl=s.refresh_token_ttl_seconds, password_min_length=s.password_min_length,
                   hash_time_cost=s.password_hash_time_cost, hash_memory_kib=s.password_hash_memory_kib)


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str | None = None


@dataclass
class IssuedSession:
    user: User
    access_token: str
    refresh_token: str
    expires_at: dt.datetime
    family_id: uuid.UUID = field(default_factory=uuid.uuid4)


def normalize_email(email: str | None, field_name: str = "email") -> str:
    value = (email or "").strip().lower()
    if not value:
        raise DomainError(ErrorCode.REQUIRED, "Email is required", field_name)
    if len(value) > 254:
        raise DomainError(ErrorCode.TOO_LONG, "Email is too long", field_name)
    if not EMAIL_RE.match(value):
        raise DomainError(ErrorCode.INVALID, "Email is not a valid address", field_name)
    return value


def check_password(password: str | None, config: AuthConfig, field_name: str = "password") -> str:
    value = password or ""
    if not value:
        raise DomainError(ErrorCode.REQUIRED, "Password is required", field_name)
    if len(value) < config.password_min_length:
        raise DomainError(ErrorCode.INVALID,
                          f"Password must have at least {config.password_min_length} characters", field_name)
    if len(value) > MAX_PASSWORD:
        raise DomainError(ErrorCode.TOO_LONG, "Password is too long", field_name)
    return value


def check_name(name: str | None, field_name: str = "name") -> str:
    value = (name or "").strip()
    if len(value) > 120:
        raise DomainError(ErrorCode.TOO_LONG, "Name must have at most 120 characters", field_name)
    return value


def audit(session: AsyncSession, action: str, *, user_id: uuid.UUID | None, origin: Origin | None = None,
          entity: str | None = None, entity_id: uuid.UUID | None = None, details: dict | None = None) -> None:  # type: ignore[type-arg]
    origin = origin or Origin()
    repo.add(session, AuditEntry(user_id=user_id, action=action, entity=entity, entity_id=entity_id,
                                 ip=origin.ip, user_agent=(origin.user_agent or "")[:300] or None,
                                 details=details))


async def _issue(session: AsyncSession, user: User, config: AuthConfig,
                 family_id: uuid.UUID | None = None) -> IssuedSession:
    family_id = family_id or uuid.uuid4()
    refresh = new_opaque_token()
    now = utcnow()
    repo.add(session, RefreshToken(user_id=user.id, family_id=family_id, token_hash=hash_token(refresh),
                                   expires_at=now + dt.timedelta(seconds=config.refresh_ttl)))
    access, claims = issue_access_token(config.secret, user_id=user.id, family_id=family_id,
                                        token_version=user.token_version, ttl_seconds=config.access_ttl, now=now)
    return IssuedSession(user, access, refresh, claims.expires_at, family_id)


async def register(session: AsyncSession, *, config: AuthConfig, email: str | None, password: str | None,
                   name: str | None = None, base_currency: str | None = None, time_zone: str | None = None,
                   origin: Origin | None = None) -> IssuedSession:
    errors = Collector()
    values: dict[str, str] = {}
    for key, check in (
        ("email", lambda: normalize_email(email)),
        ("password", lambda: check_password(password, config)),
        ("name", lambda: check_name(name)),
        ("base_currency", lambda: parse_currency(base_currency or "EUR", "baseCurrency")),
        ("time_zone", lambda: validate_time_zone(time_zone or "UTC")),
    ):
        try:
            values[key] = check()
        except DomainError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    if await repo.email_taken(session, values["email"]):
        raise Conflict(message="An account with this email already exists", field="email")
    user = User(email=values["email"], name=values["name"], base_currency=values["base_currency"],
                time_zone=values["time_zone"],
                password_hash=await hash_password(values["password"], config.hash_time_cost, config.hash_memory_kib))
    repo.add(session, user)
    try:
        await session.flush()
    except IntegrityError as exc:  # two registrations racing for one email
        raise Conflict(message="An account with this email already exists", field="email") from exc
    await seed_builtin_categories(session, user.id)
    audit(session, "auth.register", user_id=user.id, origin=origin, entity="User", entity_id=user.id)
    return await _issue(session, user, config)


async def login(session: AsyncSession, *, config: AuthConfig, email: str | None, password: str | None,
                origin: Origin | None = None) -> IssuedSession:
    """Same answer, and about the same time, whether or not the email exists."""
    address = (email or "").strip().lower()
    user = await repo.user_by_email(session, address) if address else None
    ok = await verify_password(user.password_hash if user else None, password or "",
                               config.hash_time_cost, config.hash_memory_kib)
    if not ok or user is None:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Email or password is wrong", None)
    audit(session, "auth.login", user_id=user.id, origin=origin, entity="User", entity_id=user.id)
    return await _issue(session, user, config)


async def refresh(session: AsyncSession, *, config: AuthConfig, refresh_token: str) -> IssuedSession | None:
    """Rotate a refresh token. A reused (already rotated) or revoked token revokes its whole family.

    Returns None when the token is refused; the caller commits (so a family revocation sticks) and then
    answers UNAUTHENTICATED.
    """
    row = await repo.refresh_token_for_update(session, hash_token(refresh_token or ""))
    if row is None:
        return None
    now = utcnow()
    if row.used_at is not None or row.revoked_at is not None:
        await repo.revoke_family(session, row.user_id, row.family_id)
        audit(session, "auth.refresh_reuse", user_id=row.user_id, details={"family": str(row.family_id)})
        return None
    if row.expires_at <= now:
        return None
    user = await repo.user_by_id(session, row.user_id)
    if user is None:
        return None
    row.used_at = now
    return await _issue(session, user, config, family_id=row.family_id)


async def logout(session: AsyncSession, *, principal: Principal, origin: Origin | None = None) -> None:
    if principal.family_id is not None:
        await repo.revoke_family(session, principal.user_id, principal.family_id)
    if principal.expires_at is not None and not principal.via_api_token:
        await repo.revoke_access_token(session, principal.user_id, principal.token_id, principal.expires_at)
    audit(session, "auth.logout", user_id=principal.user_id, origin=origin)


async def change_password(session: AsyncSession, *, config: AuthConfig, principal: Principal,
                          current_password: str | None, new_password: str | None,
                          origin: Origin | None = None) -> IssuedSession:
    """Every earlier access and refresh token stops working; a fresh session is returned."""
    user = await repo.user_by_id(session, principal.user_id, for_update=True)
    if user is None:
        raise AuthError("user no longer exists")
    if not await verify_password(user.password_hash, current_password or "", config.hash_time_cost,
                                 config.hash_memory_kib):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "Current password is wrong", "currentPassword")
    new = check_password(new_password, config, "newPassword")
    user.password_hash = await hash_password(new, config.hash_time_cost, config.hash_memory_kib)
    user.token_version += 1
    user.updated_at = utcnow()
    await repo.revoke_all_families(session, user.id)
    audit(session, "auth.password_change", user_id=user.id, origin=origin, entity="User", entity_id=user.id)
    return await _issue(session, user, config)


async def update_me(session: AsyncSession, *, principal: Principal, name: str | None = None,
                    base_currency: str | None = None, time_zone: str | None = None) -> User:
    """Partial update: None means 'leave as is'."""
    errors = Collector()
    changes: dict[str, str] = {}
    for key, value, check in (
        ("name", name, lambda v: check_name(v)),
        ("base_currency", base_currency, lambda v: parse_currency(v, "baseCurrency")),
        ("time_zone", time_zone, lambda v: validate_time_zone(v, "timeZone")),
    ):
        if value is None:
            continue
        try:
            changes[key] = check(value)
        except DomainError as exc:
            errors.extend(exc)
    errors.raise_if_any()
    user = await repo.user_by_id(session, principal.user_id, for_update=True)
    if user is None:
        raise AuthError("user no longer exists")
    for key, value in changes.items():
        setattr(user, key, value)
    if changes:
        user.updated_at = utcnow()
    return user


async def create_api_token(session: AsyncSession, *, principal: Principal, name: str | None, scope: Scope,
                           expires_in_days: int | None = None, token_id: uuid.UUID | None = None,
                           origin: Origin | None = None) -> tuple[ApiToken, str]:
    errors = Collector()
    clean = (name or "").strip()
    if not clean:
        errors.add(ErrorCode.REQUIRED, "Name is required", "name")
    elif len(clean) > 120:
        errors.add(ErrorCode.TOO_LONG, "Name must have at most 120 characters", "name")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        errors.add(ErrorCode.INVALID, "Expiry must be between 1 and 3650 days", "expiresInDays")
    errors.raise_if_any()
    secret = new_opaque_token(API_TOKEN_PREFIX)
    token = ApiToken(user_id=principal.user_id, name=clean, token_hash=hash_token(secret), prefix=secret[:10],
                     scope=scope, expires_at=utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None)
    if token_id is not None:
        token.id = token_id
    repo.add(session, token)
    audit(session, "api_token.create", user_id=principal.user_id, origin=origin, entity="ApiToken",
          entity_id=token.id, details={"scope": scope.value})
    return token, secret


async def revoke_api_token(session: AsyncSession, *, principal: Principal, token_id: uuid.UUID,
                           origin: Origin | None = None) -> ApiToken:
    token = await repo.api_token_by_id(session, principal.user_id, token_id)
    if token is None:
        raise NotFound(message="API token not found", field="id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit(session, "api_token.revoke", user_id=principal.user_id, origin=origin, entity="ApiToken",
              entity_id=token.id)
    return token


async def authenticate(session: AsyncSession, *, secret: str, token: str) -> Principal:
    """Resolve a bearer token to a Principal with one statement, or raise AuthError."""
    if is_api_token(token):
        row = await repo.api_token_state(session, hash_token(token))
        if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= utcnow()):
            raise AuthError("invalid API token")
        return Principal(user_id=row.user_id, email=row.email, base_currency=row.base_currency.strip(),
                         time_zone=row.time_zone, scope=Scope(row.scope), token_id=row.id,
                         expires_at=row.expires_at, via_api_token=True)
    claims = decode_access_token(secret, token)
    state = await repo.session_state(session, claims.user_id, claims.jti, claims.family_id)
    if state is None or state.revoked or state.family_revoked or state.token_version != claims.token_version:
        raise AuthError("token revoked")
    return Principal(user_id=state.id, email=state.email, base_currency=state.base_currency.strip(),
                     time_zone=state.time_zone, scope=Scope.READ_WRITE, token_id=claims.jti,
                     family_id=claims.family_id, expires_at=claims.expires_at)
