"""Who is calling: a Bearer token, or a browser session cookie with its CSRF token. Repeated bad
credentials from one client address are slowed down."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer
from wave_app import access
from wave_store.tables import TokenRecord

SESSION_COOKIE = "wave_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Declares the Bearer scheme in the OpenAPI document; the check itself is `caller` below.
bearer_scheme = HTTPBearer(auto_error=False, description="a token from `wave token create`")


class FailureLimiter:
    """After `limit` bad credentials from one address within `window_s`, that address gets 429 with
    Retry-After until the oldest of them is older than the window."""

    def __init__(self, limit: int = 5, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        cutoff = self.clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again; None when it may now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window_s - self.clock()))

    def failed(self, client: str) -> None:
        self._failures.setdefault(client, deque()).append(self.clock())
        if len(self._failures) > 10_000:  # many addresses: forget the quiet ones first
            for quiet in [c for c, f in self._failures.items() if len(f) < self.limit][:5_000]:
                del self._failures[quiet]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def caller(request: Request, _: Annotated[object, Depends(bearer_scheme)]) -> TokenRecord:
    """The token of this request, from the Authorization header or the session cookie."""
    api = request.app.state.api
    client = client_address(request)
    wait = api.limiter.retry_after(client)
    if wait is not None:
        raise HTTPException(429, f"too many bad credentials from {client}; try again in {wait}s",
                            headers={"Retry-After": str(wait)})
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        token = await access.authenticate(api.tables, secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            api.limiter.failed(client)
            raise _unauthorized("the Authorization header holds no valid token (want: Bearer TOKEN)")
        return token
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        found = await access.session_token(api.tables, session_id)
        if found is None:
            api.limiter.failed(client)
            raise _unauthorized("the session has ended or its token was revoked; sign in again")
        token, csrf_digest = found
        if request.method in UNSAFE_METHODS and not access.csrf_matches(csrf_digest, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"a request made with the session cookie needs its {CSRF_HEADER} header")
        return token
    raise _unauthorized("sign in: send Authorization: Bearer TOKEN (`wave token create` makes one)")


def require(role: str) -> Callable[..., Awaitable[TokenRecord]]:
    """A dependency: the caller's token, which must hold `role` (or a higher one)."""

    async def check(token: Annotated[TokenRecord, Depends(caller)]) -> TokenRecord:
        if not access.allows(token.role, role):
            article = "an" if role[0] in "aeiou" else "a"
            raise HTTPException(403, f"token {token.name!r} is {article} {token.role}; this needs {article} {role} token")
        return token

    return check
