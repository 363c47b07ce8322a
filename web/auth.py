"""Who is calling: a session cookie (pages, and the pages' own API calls) or an API token.

State-changing requests authenticated by the cookie must carry the session's CSRF token (a
form field or the ``X-CSRF-Token`` header); token-authenticated API calls carry no cookie, so
a browser cannot be tricked into making them.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from core.access import Session
from core.config import Config
from core.errors import AuthenticationError, PermissionDeniedError
from services import access
from services.console import Caller

SESSION_COOKIE = "earshot_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Identity:
    caller: Caller
    session: Session | None
    """None when the call came with an API token."""


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def identify(request: Request) -> Identity | None:
    """The caller of a request, or None when it carries no valid credentials."""
    config: Config = request.app.state.config
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = access.token_user(config, value.strip())
        return None if user is None else Identity(Caller(user, address(request)), None)
    token = request.cookies.get(SESSION_COOKIE, "")
    found = access.session_user(config, token) if token else None
    if found is None:
        return None
    user, session = found
    return Identity(Caller(user, address(request)), session)


def caller(request: Request) -> Caller:
    """The authenticated caller (FastAPI dependency); 401 when there is none, 403 when a
    cookie-authenticated change lacks the CSRF token."""
    identity = identify(request)
    if identity is None:
        raise AuthenticationError("log in first, or send an API token (Authorization: Bearer)")
    if request.method not in SAFE_METHODS and identity.session is not None:
        check_csrf(identity.session, request.headers.get(CSRF_HEADER))
    request.state.identity = identity
    return identity.caller


def check_csrf(session: Session, presented: str | None) -> None:
    if not access.csrf_matches(session, presented):
        raise PermissionDeniedError("missing or wrong CSRF token: reload the page and try again")
