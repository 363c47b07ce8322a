"""The console's web application: pages, the JSON API, static files, and how errors answer.

``create_app(config)`` builds it over the configured store (the same one ``make run`` fills);
``earshot serve`` (``make serve``) runs it with uvicorn.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.config import Config, load_config
from core.errors import (
    AuthenticationError,
    ConflictError,
    EarshotError,
    InvalidValueError,
    LoginThrottledError,
    NotFoundError,
    PermissionDeniedError,
    SearchError,
    TransitionError,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""No inline script or style, nothing from elsewhere: a post that smuggles markup past the
template's escaping still cannot run."""


def status_of(error: EarshotError) -> int:
    """The HTTP status of an error the services raise on purpose."""
    if isinstance(error, LoginThrottledError):
        return 429
    if isinstance(error, AuthenticationError):
        return 401
    if isinstance(error, PermissionDeniedError):
        return 403
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, ConflictError | TransitionError):
        return 409
    if isinstance(error, InvalidValueError):
        return 422
    if isinstance(error, SearchError):
        return 503
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(config: Config | None = None) -> FastAPI:
    """The console over ``config`` (default: the configuration ``earshot`` itself loads)."""
    from web import api, pages

    app = FastAPI(
        title="Earshot console API",
        version="1",
        summary="Cases, queues, label corrections, advocates, search and the overview.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # FastAPI's Swagger page loads from a CDN: web.pages serves /api/docs
        redoc_url=None,
    )
    app.state.config = config or load_config()
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("referrer-policy", "same-origin")
        response.headers.setdefault("x-frame-options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("cache-control", "no-store")
        return response

    @app.exception_handler(EarshotError)
    async def earshot_error(request: Request, error: EarshotError) -> Response:
        status = status_of(error)
        if status == 500:
            log.exception("request %s %s failed", request.method, request.url.path)
        headers = (
            {"retry-after": str(error.retry_after)}
            if isinstance(error, LoginThrottledError)
            else None
        )
        if _wants_json(request):
            return JSONResponse({"detail": str(error)}, status_code=status, headers=headers)
        if status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return pages.error_page(request, status, str(error), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in error.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        text = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        return pages.error_page(request, 422, f"invalid input: {text}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"detail": error.detail}, status_code=error.status_code, headers=error.headers
            )
        return pages.error_page(request, error.status_code, str(error.detail))

    return app


__all__ = ["create_app", "status_of"]
