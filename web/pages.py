"""The console's pages: server-rendered HTML (Jinja2, autoescaped) plus small scripts that
call the JSON API for live updates and keyboard shortcuts.

Post text is only ever inserted as text: the templates escape it, the scripts set
``textContent``, and links are made only from http(s) URLs. Every page asks the services
layer (:mod:`services.console`), which checks the user's role and teams; every form that
changes something carries the session's CSRF token and goes through a service that writes the
audit log, with the caller's address.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from core.access import ROLES
from core.care import CASE_STATUSES
from core.config import Config
from core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidValueError,
    LoginThrottledError,
    PermissionDeniedError,
    TransitionError,
)
from core.insights import SCORE_KINDS
from services import access, care_report, console, console_config
from services.console import Caller
from services.feedback import LABELS
from services.runtime import router as routing
from web.auth import CSRF_FIELD, SESSION_COOKIE, Identity, address, check_csrf, identify

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

LOGIN_COOKIE = "earshot_login"
"""A random value set with the login form and posted back with it (login CSRF)."""

NETWORKS: tuple[str, ...] = ("x", "reddit")
OVERVIEW_DAYS: tuple[int, ...] = (7, 14, 30, 90, 365)
QUEUE_PAGE = 50
"""Cases a queue page shows (and its script polls for)."""
POLL_SECONDS = 5
AUDIT_PAGE = 100

DONE: dict[str, str] = {
    "claim": "You claimed the case.",
    "release": "You released the case: it is back in the queue.",
    "respond": "Marked as responded.",
    "resolve": "The case is resolved.",
    "move_private": "The case moved to a private channel.",
    "no_action": "Closed without action.",
    "reroute": "The case was rerouted.",
    "label": "Thanks: your correction is stored as training feedback.",
    "user": "The user is saved.",
    "deactivated": "The user is deactivated: their sessions and tokens no longer work.",
}
"""Flash messages, by the key a redirect carries in ``?done=`` (never free text)."""


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def secure_cookies(request: Request) -> bool:
    """Cookies are ``Secure`` unless the console runs with ``--insecure-cookies`` (a plain
    http address that is not localhost)."""
    return not getattr(request.app.state, "insecure_cookies", False)


# -- template helpers -----------------------------------------------------------------------


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def when(value: str | None) -> str:
    """``2026-11-02 10:21 UTC`` from an ISO time (``-`` for none)."""
    at = _parse_iso(value)
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: int | float | None) -> str:
    """``1h 05m``, ``3d 4h``, ``45s``: how long, in the two largest units."""
    if seconds is None:
        return "-"
    s = abs(int(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def sla_text(seconds: int | None) -> str:
    if seconds is None:
        return "answered"
    if seconds < 0:
        return f"overdue {duration(seconds)}"
    return f"{duration(seconds)} left"


def is_http(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def humanize(name: str | None) -> str:
    return (name or "").replace("_", " ")


def compact(value: Any) -> str:
    """A detail mapping as one line of text (``key: value; ...``)."""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {compact(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(compact(v) for v in value)
    if value is None:
        return "-"
    return str(value)


templates.env.filters.update(
    when=when,
    duration=duration,
    sla_text=sla_text,
    percent=percent,
    humanize=humanize,
    compact=compact,
)
templates.env.tests["http_url"] = is_http
templates.env.globals["case_path"] = lambda case_id: _case_path(case_id)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    identity = getattr(request.state, "identity", None) or identify(request)
    values: dict[str, Any] = {
        "request": request,
        "user": identity.caller.user if identity else None,
        "csrf_token": identity.session.csrf_token if identity and identity.session else "",
        "page": "",
        "done": DONE.get(request.query_params.get("done", "")),
        "error": None,
    }
    values.update(context or {})
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


def error_page(
    request: Request, status: int, message: str, *, headers: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no scheme, no host, no ``//``): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value


# -- who is calling ---------------------------------------------------------------------------


def _identity(request: Request) -> Identity:
    """The logged-in caller of a page (401, i.e. a redirect to /login, when there is none)."""
    identity = identify(request)
    if identity is None:
        raise AuthenticationError("log in first")
    request.state.identity = identity
    return identity


def _caller(request: Request) -> Caller:
    return _identity(request).caller


def _form_caller(request: Request, csrf_token: str) -> Caller:
    """The caller of a form that changes something: a cookie session must post its CSRF
    token back (403 otherwise)."""
    identity = _identity(request)
    if identity.session is not None:
        check_csrf(identity.session, csrf_token)
    return identity.caller


def _redirect(path: str, **query: str) -> RedirectResponse:
    clean = {k: v for k, v in query.items() if v}
    return RedirectResponse(path + ("?" + urlencode(clean) if clean else ""), status_code=303)


def _case_path(case_id: str) -> str:
    return "/cases/" + quote(case_id, safe=":")


def _optional_int(name: str, value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidValueError(f"{name}: {value!r} is not a whole number") from None


def _optional_date(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


Text = Annotated[str, Form(max_length=200)]
Token = Annotated[str, Form(max_length=100)]


# -- login ------------------------------------------------------------------------------------


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The JSON API's reference, rendered here from its OpenAPI document (no CDN, no script):
    every operation with its parameters, body and answers."""
    document = request.app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    operations = []
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            body = (op.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
                "schema", {}
            )
            name = body.get("$ref", "").rsplit("/", 1)[-1]
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "parameters": op.get("parameters", []),
                    "body": schemas.get(name, {}).get("properties", {}) if name else {},
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return render(request, "api_docs.html", {"page": "api", "operations": operations})


def _login_page(
    request: Request, next: str, *, error: str | None = None, name: str = "", status: int = 200
) -> Response:
    """The login form, with a fresh login nonce in the form and in a cookie."""
    nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {
            "next": _safe_next(next),
            "login_nonce": nonce,
            "error": error,
            "name": name,
            "page": "login",
        },
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
        max_age=3600,
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    login_nonce: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, login_nonce):
        raise PermissionDeniedError("the login form expired: reload the page and try again")
    try:
        done = access.login(_config(request), name, password, address=address(request))
    except AuthenticationError as e:
        status = 429 if isinstance(e, LoginThrottledError) else 401
        return _login_page(request, next, error=str(e), name=name, status=status)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        done.token,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
        max_age=access.SESSION_HOURS * 3600,
    )
    redirect.delete_cookie(LOGIN_COOKIE)
    return redirect


@router.post("/logout")
def logout(request: Request, csrf_token: Token = "") -> Response:
    identity = identify(request)
    if identity is not None and identity.session is not None:
        check_csrf(identity.session, csrf_token)
        access.logout(
            _config(request), request.cookies.get(SESSION_COOKIE, ""), address=address(request)
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- start ------------------------------------------------------------------------------------

START_PAGES: tuple[tuple[str, str], ...] = (
    ("queues", "/queues"),
    ("advocates", "/advocates"),
    ("search", "/search"),
    ("users", "/admin/users"),
    ("overview", "/overview"),
)
"""A user's first page: the first of these their role may see."""


@router.get("/")
def start(request: Request) -> Response:
    identity = identify(request)
    if identity is None:
        return RedirectResponse("/login", status_code=303)
    user = identity.caller.user
    for capability, path in START_PAGES:
        if user.may(capability):
            return RedirectResponse(path, status_code=303)
    raise PermissionDeniedError(f"{user.name} ({user.role}) has no page in the console")


# -- queues and cases ---------------------------------------------------------------------------


@router.get("/queues", response_class=HTMLResponse)
def queues_page(request: Request) -> Response:
    who = _caller(request)
    rows = console.queues(_config(request), who)
    return render(request, "queues.html", {"queues": rows, "page": "queues"})


@router.get("/queues/{queue}", response_class=HTMLResponse)
def queue_page(
    request: Request,
    queue: str,
    status: Annotated[str, Query(max_length=16)] = "",
    mine: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    who = _caller(request)
    config = _config(request)
    assignee = who.user.name if mine else None
    cases = console.queue_cases(
        config, who, queue, status=status or None, assignee=assignee, limit=QUEUE_PAGE
    )
    summary = console.queue_summary(config, who, queue)
    return render(
        request,
        "queue.html",
        {
            "page": "queue",
            "queue": queue,
            "summary": summary,
            "cases": cases,
            "status": status,
            "mine": bool(mine),
            "statuses": CASE_STATUSES,
            "limit": QUEUE_PAGE,
            "poll_seconds": POLL_SECONDS,
            "may_act": who.user.may("cases.act"),
        },
    )


def _case_page(
    request: Request,
    who: Caller,
    case_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = console.case_detail(_config(request), who, case_id)
    return render(
        request,
        "case.html",
        {
            "page": "case",
            "case": detail,
            "labels": LABELS,
            "may_correct": who.user.may("labels.correct"),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str) -> Response:
    return _case_page(request, _caller(request), case_id)


@router.get("/cases/{case_id}/act")
def case_act_get(request: Request, case_id: str) -> Response:
    """A form's address opened directly (after a login, say): the case itself."""
    return RedirectResponse(_case_path(case_id), status_code=303)


@router.post("/cases/{case_id}/act", response_class=HTMLResponse)
def case_act(
    request: Request,
    case_id: str,
    csrf_token: Token = "",
    action: Annotated[str, Form(max_length=32)] = "",
    queue: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    article: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    who = _form_caller(request, csrf_token)
    config = _config(request)
    try:
        changed = console.act(
            config,
            who,
            case_id,
            action,
            queue=(queue or None) if action == "reroute" else None,
            note=note.strip() or None,
            article=article if action == "respond" and article else None,
        )
    except (ConflictError, TransitionError) as e:
        return _case_page(
            request,
            who,
            case_id,
            error=f"Another agent changed this case first ({e}). This is its current state:"
            " check it before you act again.",
            status_code=409,
        )
    except InvalidValueError as e:
        message = str(e)
        if action == "reroute" and not queue:
            message = f"Choose the queue to reroute the case to ({e})."
        return _case_page(request, who, case_id, error=message, status_code=422)
    if who.user.sees_queue(changed["queue"]):
        return _redirect(_case_path(case_id), done=action)
    # rerouted to a queue this agent does not work: back to the queue it left
    old_queue = request.query_params.get("from") or ""
    return _redirect(
        "/queues" + (f"/{quote(old_queue, safe='')}" if old_queue else ""), done=action
    )


@router.post("/posts/{post_id}/labels", response_class=HTMLResponse)
def correct_label(
    request: Request,
    post_id: str,
    csrf_token: Token = "",
    task: Annotated[str, Form(max_length=32)] = "",
    label: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    who = _form_caller(request, csrf_token)
    done = console.correct_label(_config(request), who, post_id, task, label)
    return _redirect(_case_path(done["case_id"]), done="label")


# -- marketing ----------------------------------------------------------------------------------


def _advocate_filters(kind: str, network: str, days: str) -> dict[str, Any]:
    return {
        "kind": kind or "advocate",
        "network": network or None,
        "days": _optional_int("days", days),
    }


@router.get("/advocates", response_class=HTMLResponse)
def advocates_page(
    request: Request,
    kind: Annotated[str, Query(max_length=16)] = "advocate",
    network: Annotated[str, Query(max_length=16)] = "",
    days: Annotated[str, Query(max_length=6)] = "",
) -> Response:
    who = _caller(request)
    filters = _advocate_filters(kind, network, days)
    rows = console.advocates(_config(request), who, **filters)
    query = {k: str(v) for k, v in filters.items() if v is not None}
    return render(
        request,
        "advocates.html",
        {
            "page": "advocates",
            "rows": rows,
            "filters": filters,
            "kinds": SCORE_KINDS,
            "networks": NETWORKS,
            "tab_query": {k: urlencode({**query, "kind": k}) for k in SCORE_KINDS},
            "csv_query": urlencode(query),
        },
    )


@router.get("/advocates.csv")
def advocates_csv(
    request: Request,
    kind: Annotated[str, Query(max_length=16)] = "advocate",
    network: Annotated[str, Query(max_length=16)] = "",
    days: Annotated[str, Query(max_length=6)] = "",
) -> Response:
    who = _caller(request)
    filters = _advocate_filters(kind, network, days)
    body = console.advocates_csv(_config(request), who, **filters)
    return csv_download(body, f"{filters['kind']}s.csv")


def csv_download(body: str, filename: str) -> Response:
    """A CSV file the browser saves (the pages' and the API's exports)."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


# -- search -------------------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    queue: Annotated[str, Query(max_length=32)] = "",
    intent: Annotated[str, Query(max_length=64)] = "",
    sentiment: Annotated[str, Query(max_length=16)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    author: Annotated[str, Query(max_length=64)] = "",
    created_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    created_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    who = _caller(request)
    config = _config(request)
    console.require(who, "search", what="search")
    start = _optional_date("from", created_from)
    end = _optional_date("to", created_to)
    if start and end and end < start:
        raise InvalidValueError("the end of the time range is before its start")
    filters = {
        "queue": queue,
        "intent": intent,
        "sentiment": sentiment,
        "source": source,
        "author": author,
    }
    asked = bool(q.strip()) or any(filters.values()) or start is not None or end is not None
    results = (
        console.search(
            config,
            who,
            q,
            filters=filters,
            created_from=None
            if start is None
            else datetime.combine(start, datetime.min.time(), UTC),
            created_to=None
            if end is None
            else datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC),
            limit=50,
        )
        if asked
        else []
    )
    return render(
        request,
        "search.html",
        {
            "page": "search",
            "q": q,
            "filters": filters,
            "created_from": created_from,
            "created_to": created_to,
            "asked": asked,
            "results": results,
            "queue_names": [n for n in routing(config).config.queues if n != "none"],
            "intents": LABELS["intent"],
            "sentiments": LABELS["sentiment"],
            "sources": NETWORKS,
        },
    )


# -- overview -----------------------------------------------------------------------------------


@router.get("/overview", response_class=HTMLResponse)
def overview_page(request: Request, days: Annotated[int, Query(ge=1, le=365)] = 14) -> Response:
    who = _caller(request)
    data = console.overview(_config(request), who, days=days)
    return render(
        request,
        "overview.html",
        {
            "page": "overview",
            "data": data,
            "chart_data": {
                "volumes": data["volumes"],
                "backlog": data["backlog"],
                "buckets": [name for name, _ in care_report.BACKLOG_BUCKETS],
                "queues": data["queues"],
            },
            "days": days,
            "day_choices": sorted({*OVERVIEW_DAYS, days}),
        },
    )


# -- administration -----------------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request) -> Response:
    who = _caller(request)
    console.require(who, "users", what="manage users")
    config = _config(request)
    return render(
        request,
        "admin_users.html",
        {
            "page": "admin-users",
            "users": access.users(config),
            "roles": list(ROLES),
            "queue_names": [n for n in routing(config).config.queues if n != "none"],
        },
    )


@router.post("/admin/users", response_class=HTMLResponse)
def save_user(
    request: Request,
    csrf_token: Token = "",
    name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    display_name: Text = "",
    teams: Annotated[str, Form(max_length=600)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    who = _form_caller(request, csrf_token)
    console.require(who, "users", what="manage users")
    team_list = [t for t in teams.replace(",", " ").split() if t]
    if len(team_list) > 20:
        raise InvalidValueError("a user works at most 20 queues")
    user = access.add_user(
        _config(request),
        name,
        role=role,
        password=password or None,
        display_name=display_name.strip(),
        teams=team_list,
        actor=who.user.name,
        address=who.address,
    )
    return _redirect("/admin/users", done="user", saved=user.name)


@router.post("/admin/users/{name}/deactivate", response_class=HTMLResponse)
def deactivate_user(request: Request, name: str, csrf_token: Token = "") -> Response:
    who = _form_caller(request, csrf_token)
    console.require(who, "users", what="manage users")
    if name == who.user.name:
        raise InvalidValueError("you cannot deactivate yourself: ask another administrator")
    access.deactivate_user(_config(request), name, actor=who.user.name, address=who.address)
    return _redirect("/admin/users", done="deactivated")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    before_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    who = _caller(request)
    console.require(who, "audit", what="read the audit log")
    before = _optional_int("before_id", before_id)
    if before is not None and before < 1:
        raise InvalidValueError("before_id: expected a positive number")
    entries = access.audit_log(
        _config(request),
        actor=actor.strip() or None,
        action=action.strip() or None,
        before_id=before,
        limit=AUDIT_PAGE,
    )
    older = None
    if len(entries) == AUDIT_PAGE and entries[-1].id is not None:
        query = {"actor": actor, "action": action, "before_id": str(entries[-1].id)}
        older = urlencode({k: v for k, v in query.items() if v})
    return render(
        request,
        "admin_audit.html",
        {
            "page": "admin-audit",
            "entries": [
                {
                    "id": e.id,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "target": e.target,
                    "outcome": e.outcome,
                    "address": e.address,
                    "detail": json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
                    if e.detail
                    else "",
                }
                for e in entries
            ],
            "actor": actor,
            "action": action,
            "before_id": before,
            "older": older,
            "newest": urlencode({k: v for k, v in (("actor", actor), ("action", action)) if v}),
        },
    )


@router.get("/admin/configuration", response_class=HTMLResponse)
def configuration_page(request: Request) -> Response:
    who = _caller(request)
    data = console_config.configuration(_config(request), who)
    return render(request, "admin_configuration.html", {"page": "admin-config", "conf": data})


__all__ = ["CSRF_FIELD", "error_page", "render", "router", "templates"]
