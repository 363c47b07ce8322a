"""The JSON API (``/api/v1``): the console's actions for helpdesks and scripts.

Authenticate with an API token (``earshot users token NAME``; ``Authorization: Bearer ...``)
or, from the console's own pages, the session cookie plus the ``X-CSRF-Token`` header. The
OpenAPI document is served at ``/api/v1/openapi.json`` and browsable at ``/api/docs``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from core.access import ROLES
from core.care import AGENT_ACTIONS
from core.config import Config
from core.insights import SCORE_KINDS
from services import access, console
from services.console import Caller
from web.auth import caller
from web.pages import csv_download


class Problem(BaseModel):
    """Why a request was refused: a sentence, or a list of ``{where, problem}``."""

    detail: str | list[dict[str, str]]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "not logged in, or an unknown or revoked token"},
    403: {"model": Problem, "description": "the role or teams do not allow it, or no CSRF token"},
    404: {"model": Problem, "description": "no such case, post, queue or user"},
    409: {"model": Problem, "description": "another agent holds or changed the case first"},
    422: {"model": Problem, "description": "invalid input"},
    503: {"model": Problem, "description": "the search index is unavailable"},
}

router = APIRouter(prefix="/api/v1", tags=["console"], responses=ERRORS)

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
Id = Annotated[str, Field(min_length=1, max_length=200)]


def _config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


CallerDep = Annotated[Caller, Depends(caller)]
ConfigDep = Annotated[Config, Depends(_config)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionBody(_Body):
    action: Literal[AGENT_ACTIONS]  # type: ignore[valid-type]
    queue: Annotated[str, Field(max_length=32)] | None = None
    """The target queue of ``reroute``."""
    note: Annotated[str, Field(max_length=2000)] | None = None
    article: Annotated[str, Field(max_length=100)] | None = None
    """A help article id, with ``respond`` (a self-service answer)."""


class LabelBody(_Body):
    task: Literal["sentiment", "intent", "private"]
    label: Annotated[str, Field(min_length=1, max_length=64)]


class UserBody(_Body):
    name: Name
    role: Literal[ROLES]  # type: ignore[valid-type]
    display_name: Annotated[str, Field(max_length=200)] = ""
    teams: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=20)] = []
    password: Annotated[str, Field(min_length=10, max_length=1024)] | None = None


class TokenBody(_Body):
    label: Annotated[str, Field(max_length=200)] = ""


@router.get("/me", summary="Who is calling, their role, teams and what they may do")
def me(who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    return console.me(config, who)


@router.get("/queues", summary="The caller's queues with open and overdue counts")
def queues(who: CallerDep, config: ConfigDep) -> list[dict[str, Any]]:
    return console.queues(config, who)


@router.get("/queues/{queue}", summary="One queue's cases per status, open and overdue")
def queue(
    queue: Annotated[str, Field(max_length=32)], who: CallerDep, config: ConfigDep
) -> dict[str, Any]:
    return console.queue_summary(config, who, queue)


@router.get("/queues/{queue}/cases", summary="A queue's cases, most urgent first")
def queue_cases(
    queue: Annotated[str, Field(max_length=32)],
    who: CallerDep,
    config: ConfigDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    assignee: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=console.MAX_PAGE)] = 50,
) -> list[dict[str, Any]]:
    return console.queue_cases(config, who, queue, status=status, assignee=assignee, limit=limit)


@router.get("/cases/{case_id}", summary="A case: conversation, author, history, audit trail")
def case(case_id: Id, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    return console.case_detail(config, who, case_id)


@router.post(
    "/cases/{case_id}/actions",
    summary="Claim, release, respond, resolve, move private, no action or reroute a case",
)
def act(case_id: Id, body: ActionBody, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    return console.act(
        config, who, case_id, body.action, queue=body.queue, note=body.note, article=body.article
    )


@router.post("/posts/{post_id}/labels", summary="Correct a post's label (training feedback)")
def correct(post_id: Id, body: LabelBody, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    return console.correct_label(config, who, post_id, body.task, body.label)


def _advocate_filters(
    kind: Annotated[Literal[SCORE_KINDS], Query()] = "advocate",  # type: ignore[valid-type]
    network: Annotated[Literal["x", "reddit"] | None, Query()] = None,
    days: Annotated[int | None, Query(ge=1, le=365)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    return {"kind": kind, "network": network, "days": days, "limit": limit}


AdvocateFilters = Annotated[dict[str, Any], Depends(_advocate_filters)]


@router.get("/advocates", summary="Advocates, super-users or detractors with their evidence")
def advocates(who: CallerDep, config: ConfigDep, filters: AdvocateFilters) -> list[dict[str, Any]]:
    return console.advocates(config, who, **filters)


@router.get(
    "/advocates.csv",
    summary="The same list as CSV",
    responses={
        200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
def advocates_csv(who: CallerDep, config: ConfigDep, filters: AdvocateFilters) -> Response:
    body = console.advocates_csv(config, who, **filters)
    return csv_download(body, f"{filters['kind']}s.csv")


@router.get("/search", summary="Free text plus filters over the search index")
def search(
    who: CallerDep,
    config: ConfigDep,
    q: Annotated[str, Query(max_length=500)] = "",
    queue: Annotated[str | None, Query(max_length=32)] = None,
    intent: Annotated[str | None, Query(max_length=64)] = None,
    sentiment: Annotated[str | None, Query(max_length=16)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    author: Annotated[str | None, Query(max_length=64)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    return console.search(
        config,
        who,
        q,
        filters={
            "queue": queue,
            "intent": intent,
            "sentiment": sentiment,
            "source": source,
            "author": author,
        },
        created_from=created_from,
        created_to=created_to,
        limit=limit,
    )


@router.get("/overview", summary="Volumes, backlog, SLA attainment, share moved private, spikes")
def overview(
    who: CallerDep, config: ConfigDep, days: Annotated[int, Query(ge=1, le=365)] = 14
) -> dict[str, Any]:
    return console.overview(config, who, days=days)


# -- administration -------------------------------------------------------------------------


@router.get("/users", summary="Every user (admin)")
def users(who: CallerDep, config: ConfigDep) -> list[dict[str, Any]]:
    console.require(who, "users", what="manage users")
    return [_user(u) for u in access.users(config)]


@router.post("/users", summary="Create or update a user (admin)")
def add_user(body: UserBody, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    console.require(who, "users", what="manage users")
    user = access.add_user(
        config,
        body.name,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        teams=body.teams,
        actor=who.user.name,
        address=who.address,
    )
    return _user(user)


@router.post("/users/{name}/deactivate", summary="Deactivate a user (admin)")
def deactivate(name: Name, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    console.require(who, "users", what="manage users")
    return _user(access.deactivate_user(config, name, actor=who.user.name, address=who.address))


@router.post("/users/{name}/tokens", summary="A new API token for a user (admin)")
def create_token(name: Name, body: TokenBody, who: CallerDep, config: ConfigDep) -> dict[str, Any]:
    console.require(who, "users", what="manage API tokens")
    token, secret = access.create_token(
        config, name, label=body.label, actor=who.user.name, address=who.address
    )
    return {"id": token.id, "user": token.user_name, "label": token.label, "token": secret}


@router.get("/audit", summary="The audit log, newest first (admin)")
def audit(
    who: CallerDep,
    config: ConfigDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    console.require(who, "audit", what="read the audit log")
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "address": e.address,
            "detail": e.detail,
        }
        for e in access.audit_log(
            config, actor=actor, action=action, target=target, before_id=before_id, limit=limit
        )
    ]


def _user(user: Any) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "display_name": user.display_name,
        "teams": list(user.teams),
        "active": user.active,
    }
