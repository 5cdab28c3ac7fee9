"""Who may do what through the HTTP API: access tokens with a role, and the browser sessions signed
in with them. A token is shown once when it is made and stored only as its SHA-256 digest; a session
is a random id (kept as a digest too) with its own CSRF token. The CLI (`wave token`) and the API
share these functions over the store's tables."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wave_store.tables import ApiTables, TokenExists, TokenRecord

from .errors import Conflict, InvalidRequest, NotFound

# Each role may do what the one before it may, and more.
ROLES = ("viewer", "approver", "admin")
TOKEN_PREFIX = "wave_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
SESSION_LIFETIME = timedelta(hours=12)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def allows(role: str, needed: str) -> bool:
    """Whether `role` includes `needed` (viewer < approver < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def actor_of(token: TokenRecord) -> str:
    """How a decision made with this token names its maker."""
    return f"{token.name} ({token.role})"


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRequest(f"role {role!r}: choose {', '.join(ROLES)}")
    return role


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidRequest(
            f"token name {name!r}: 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
        )
    return name


async def create_token(tables: ApiTables, *, name: str, role: str) -> tuple[TokenRecord, str]:
    """A new token: its record and the secret, which is never stored nor shown again."""
    check_name(name)
    check_role(role)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = now_text()
    try:
        await tables.add_token(name, role, digest(secret), created)
    except TokenExists as exc:
        raise Conflict(str(exc)) from None
    return TokenRecord(name, role, created), secret


async def revoke_token(tables: ApiTables, name: str) -> None:
    if not await tables.revoke_token(name, now_text()):
        raise NotFound(f"no live token named {name!r}; `wave token list` lists them")


async def list_tokens(tables: ApiTables) -> list[TokenRecord]:
    return [t for t in await tables.list_tokens() if t.revoked_at is None]


async def authenticate(tables: ApiTables, secret: str) -> TokenRecord | None:
    """The live token this secret is, or None."""
    if not secret or len(secret) > 200:
        return None
    wanted = digest(secret)
    found = await tables.token_by_digest(wanted)
    if found is None:
        return None
    token, stored = found
    # The database finds the row by an index on the digest (of a 256-bit secret: its timing tells
    # nothing useful); what is accepted is decided by a constant-time comparison.
    return token if hmac.compare_digest(stored, wanted) else None


@dataclass(frozen=True)
class Session:
    session_id: str  # the cookie's value
    csrf_token: str  # sent back by the browser in X-CSRF-Token
    token: TokenRecord
    expires_at: datetime


async def open_session(tables: ApiTables, token: TokenRecord) -> Session:
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + SESSION_LIFETIME
    await tables.add_session(digest(session_id), token.name, digest(csrf), expires.isoformat(timespec="microseconds"))
    return Session(session_id, csrf, token, expires)


async def session_token(tables: ApiTables, session_id: str) -> tuple[TokenRecord, str] | None:
    """The token behind a live session and the digest of its CSRF token; None for an unknown,
    expired or revoked one."""
    if not session_id or len(session_id) > 200:
        return None
    return await tables.session_by_digest(digest(session_id), now_text())


def csrf_matches(csrf_digest: str, presented: str | None) -> bool:
    return bool(presented) and len(presented) <= 200 and hmac.compare_digest(csrf_digest, digest(presented))


async def close_session(tables: ApiTables, session_id: str) -> None:
    if session_id and len(session_id) <= 200:
        await tables.drop_session(digest(session_id))
