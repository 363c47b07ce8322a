"""The console benchmark (`make bench`): with N cases in a fresh store, how long an agent waits
for a queue page and for a claim, through the whole HTTP stack, against issue 16's targets
(p95: a queue page under 200 ms, a claim under 50 ms).

    python -m services.console_bench [--cases 100000] [--store sqlite|postgres|both]

The store (SQLite in a temporary folder; with ``--store postgres``, a scratch database on the
server of ``EARSHOT_TEST_DATABASE_URL``, dropped afterwards; ``both``: one then the other, the
PostgreSQL run skipped when that variable is unset) is filled in bulk through the
store's own methods with N cases as a listening cycle would have left them: posts written from
``nlp/data/posts_written.jsonl`` with their labels, routed by ``config/routing.yaml`` (queues,
priorities, SLAs in business hours), a fifth of the cases with follow-up posts, most cases open
(new, some claimed or answered), older ones more often closed, overdue ones flagged and
notified as ``check_sla`` would have, and every post in the search index. The fill is timed
and printed but is no part of the measurement.

Then the console runs in its own process, as ``earshot serve`` runs it (uvicorn, one worker,
``web.app:create_app``), on a free local port. An agent working the busiest queues logs in
through ``/login`` like a browser (session cookie, CSRF token from the page's meta tag) and,
with httpx, one request at a time: opens the queue page ``GET /queues/{queue}`` (the HTML
page, 50 cases; ``GET /api/v1/queues/{queue}/cases`` if the page does not answer, said in the
output), claims different new cases (``POST /api/v1/cases/{id}/actions``, ``X-CSRF-Token``),
then releases them. Each request is timed from sending to the last byte read. A few requests
of each kind go first, untimed (templates, caches).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from core.care import CLOSED_STATUSES, OPEN_STATUSES, Case, customer_key
from core.config import Config, load_config
from core.models import (
    Author,
    Enrichment,
    Label,
    PiiResult,
    PiiSpan,
    Post,
    PrivateDecision,
    RoutingDecision,
)
from core.timeutil import now
from storage.sql.database import scratch_postgres

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET_MS = 200.0
CLAIM_TARGET_MS = 50.0
WINDOW = timedelta(days=30)
"""The cases were opened over the last 30 days."""
CHUNK = 5000
"""Cases written per transaction while filling."""
AGENT = "bench-agent"
AGENT_PASSWORD = "bench-password-" + "x" * 8
TEAMS = 3
"""The agent works the busiest queues."""
WARMUP = 3
OTHER_AGENTS = tuple(f"agent{i:02d}" for i in range(1, 21))
"""Who holds the claimed and answered cases of the fill."""
Progress = Callable[[str], None]


# -- the store ---------------------------------------------------------------------------------


def bench_config(database_url: str, home: Path) -> Config:
    """The bundled configuration over ``database_url``, state in ``home``, embedded search."""
    base = load_config(ROOT / "earshot.yaml")
    return replace(
        base,
        home=home,
        database_url=database_url,
        search_backend="embedded",
        elasticsearch=None,
    )


def written() -> list[tuple[str, str, str]]:
    """``(text, sentiment, intent)`` of the team-written posts."""
    lines = (ROOT / "nlp" / "data" / "posts_written.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    return [(r["text"], r["sentiment"], r["intent"]) for r in rows]


PRIVATE_INTENTS = frozenset({"billing", "account", "delivery", "cancel"})


@dataclass
class Filled:
    """What :func:`fill` wrote."""

    cases: int = 0
    posts: int = 0
    seconds: float = 0.0
    index_seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)
    open_by_queue: Counter[str] = field(default_factory=Counter)
    new_by_queue: dict[str, list[str]] = field(default_factory=dict)
    """The ids of the ``new`` cases of each queue (the ones an agent may claim)."""

    @property
    def open(self) -> int:
        return sum(self.by_status[s] for s in OPEN_STATUSES)

    def busiest(self, n: int = TEAMS) -> list[str]:
        return [q for q, _ in self.open_by_queue.most_common(n)]


class _Maker:
    """Generates posts, labels, routing decisions and cases, deterministically."""

    def __init__(self, n: int, config: Config, start: datetime, seed: int) -> None:
        from services.runtime import router

        self.rng = random.Random(seed)
        self.pool = written()
        self.router = router(config)
        self.start = start
        rng = self.rng
        self.authors = [
            (
                i,
                min(5_000_000, int(rng.lognormvariate(5.0, 1.6))),
                rng.random() < 0.01,
                "reddit" if rng.random() < 0.2 else "x",
            )
            for i in range(max(50, n // 3))
        ]
        self.serial = 0

    def _author(self) -> tuple[int, int, bool, str]:
        # A few customers write a lot (heavy tail), most once or twice.
        return self.authors[int(self.rng.paretovariate(1.2) * 7) % len(self.authors)]

    def _text(self) -> tuple[str, str, str, bool]:
        text, sentiment, intent = self.rng.choice(self.pool)
        order = intent in PRIVATE_INTENTS and self.rng.random() < 0.35
        if order:
            text = f"{text} order HLD-{self.rng.randint(100000, 9999999)}"
        return text[:1000], sentiment, intent, order

    def post(
        self,
        author: tuple[int, int, bool, str],
        at: datetime,
        *,
        opener: Post | None = None,
    ) -> tuple[Post, Enrichment]:
        self.serial += 1
        a, followers, verified, network = author
        text, sentiment, intent, order = self._text()
        rng = self.rng
        if network == "x":
            native = str(1_950_000_000_000_000_000 + self.serial)
            handle = f"cust{a}"
            post = Post(
                id=f"x:{native}",
                source="x",
                url=f"https://x.com/{handle}/status/{native}",
                author=Author(
                    f"x:{3_100_000_000 + a}", handle, f"Customer {a}", followers, verified
                ),
                text=text,
                created_at=at,
                language="en",
                conversation_id=opener.conversation_id if opener else f"x:{native}",
                in_reply_to_id=opener.id if opener else None,
                metrics={
                    "like_count": int(rng.expovariate(0.5)),
                    "retweet_count": int(rng.expovariate(2.0)),
                    "reply_count": int(rng.expovariate(2.0)),
                },
            )
        else:
            kind = "t1" if opener else "t3"
            native = f"{kind}_{self.serial:x}"
            handle = f"redditor_{a}"
            post = Post(
                id=f"reddit:{native}",
                source="reddit",
                url=f"https://www.reddit.com/r/HaldenHome/comments/{self.serial:x}/",
                author=Author(f"reddit:t2_{a:x}", handle, handle, 0, False),
                text=text,
                created_at=at,
                conversation_id=opener.conversation_id if opener else f"reddit:{native}",
                in_reply_to_id=opener.id if opener else None,
                metrics={"score": int(rng.expovariate(0.3))},
                title=None if opener else text[:80],
            )
        spans = (PiiSpan("order_number", len(text) - 10, len(text)),) if order else ()
        private = order or (intent in PRIVATE_INTENTS and rng.random() < 0.15)
        enrichment = Enrichment(
            post_id=post.id,
            results={
                "sentiment": Label(sentiment, round(rng.uniform(0.55, 0.99), 3), "sentiment.bench"),
                "intent": Label(intent, round(rng.uniform(0.5, 0.98), 3), "intent.bench"),
                "private": PrivateDecision(
                    private,
                    0.9 if private else 0.1,
                    ("order number in post",) if order else (),
                    "private.bench",
                ),
                "pii": PiiResult(spans, "pii.bench"),
                "language": Label("en", 0.99, "language.bench"),
                "spam": Label("ham", 0.95, "spam.bench"),
            },
            redacted_text=text.replace(text[-10:], "[ORDER]") if order else text,
        )
        return post, enrichment

    def route(self, post: Post, enrichment: Enrichment) -> RoutingDecision:
        return self.router.route([post], [enrichment], now=post.created_at + timedelta(seconds=40))[
            0
        ]

    def case(self, post: Post, decision: RoutingDecision) -> Case:
        """The case the post opened, in the state it would be in now: older cases are more
        often closed; overdue unanswered ones were flagged and notified by check_sla."""
        from routing import priority_of, waiting_points

        rng, start = self.rng, self.start
        opened = post.created_at
        age = (start - opened) / WINDOW
        status = decision.initial_status
        if status == "new":
            if rng.random() < 0.03 + 0.35 * age:
                status = rng.choices(CLOSED_STATUSES, weights=(6, 3, 1))[0]
            else:
                status = rng.choices(OPEN_STATUSES, weights=(8, 1, 1))[0]
        values: dict[str, Any] = {}
        reasons = dict(decision.reasons)
        agent = rng.choice(OTHER_AGENTS)
        last = opened + timedelta(seconds=40)
        if status != "new" and decision.initial_status == "new":
            values["assignee"] = agent
        answered = status == "responded" or (status in CLOSED_STATUSES and status != "no_action")
        if answered:
            first = min(start, opened + timedelta(minutes=rng.uniform(3, 240)))
            values.update(
                first_response_at=first,
                first_response_by=agent,
                first_response_kind="private" if status == "moved_private" else "reply",
            )
            last = first
            if decision.sla_due is not None and decision.sla_due < first:
                values.update(breached_at=decision.sla_due, breach_notified_at=decision.sla_due)
        elif status in ("new", "claimed") and decision.initial_status == "new":
            if reasons:  # check_sla refreshes the waiting part of the priority
                reasons["waiting"] = waiting_points(opened, decision.sla_due, start)
            if decision.sla_due is not None and decision.sla_due < start:
                flagged = min(start, decision.sla_due + timedelta(minutes=rng.uniform(0, 5)))
                values.update(breached_at=flagged, breach_notified_at=flagged)
        if status in CLOSED_STATUSES and decision.initial_status == "new":
            closed = min(start, last + timedelta(minutes=rng.uniform(1, 600)))
            values["closed_at"] = closed
            last = closed
        elif status in CLOSED_STATUSES:
            values["closed_at"] = last
        return Case(
            id=f"case:{post.id}",
            queue=decision.queue,
            status=status,
            priority=priority_of(reasons) if reasons else decision.priority,
            priority_reasons=reasons,
            action=decision.action,
            action_detail=dict(decision.detail),
            rule=decision.rule,
            source=post.source,
            conversation_key=post.conversation_id or post.id,
            customer_key=customer_key(post.source, post.author.id),
            author_handle=post.author.handle,
            tier=decision.tier,
            opened_post_id=post.id,
            opened_at=opened,
            sla_due=decision.sla_due,
            created_at=opened + timedelta(seconds=40),
            updated_at=last,
            **values,
        )


def fill(config: Config, n: int, *, seed: int = 16, progress: Progress | None = None) -> Filled:
    """Write ``n`` cases with their posts, labels and queue items into the (empty) store of
    ``config``, and index every post. Returns what was written."""
    from services import indexing
    from services.runtime import open_search, open_store

    store = open_store(config)
    started = time.perf_counter()
    start = now()
    maker = _Maker(n, config, start, seed)
    filled = Filled()
    window = WINDOW.total_seconds()
    for first in range(0, n, CHUNK):
        posts: list[Post] = []
        enrichments: list[Enrichment] = []
        decisions: list[RoutingDecision] = []
        cases: list[Case] = []
        follow_ups: dict[str, str] = {}
        for i in range(first, min(n, first + CHUNK)):
            # Oldest first, spread over the window; the newest a few minutes old.
            at = start - timedelta(seconds=window * (n - i) / n + 120)
            author = maker._author()
            post, enrichment = maker.post(author, at)
            decision = maker.route(post, enrichment)
            case = maker.case(post, decision)
            posts.append(post)
            enrichments.append(enrichment)
            decisions.append(decision)
            cases.append(case)
            filled.by_status[case.status] += 1
            if case.is_open:
                filled.open_by_queue[case.queue] += 1
            if case.status == "new":
                filled.new_by_queue.setdefault(case.queue, []).append(case.id)
            if maker.rng.random() < 0.2:  # the customer wrote again in the conversation
                for _ in range(1 if maker.rng.random() < 0.7 else 2):
                    later = min(start, at + timedelta(minutes=maker.rng.uniform(2, 180)))
                    more, labels = maker.post(author, later, opener=post)
                    posts.append(more)
                    enrichments.append(labels)
                    decisions.append(maker.route(more, labels))
                    follow_ups[more.id] = case.id
        with store.transaction() as tx:
            tx.posts.upsert(posts)
            tx.posts.upsert_enrichments(enrichments)
            tx.queues.add_decisions(decisions)
            clashes = tx.cases.open_many(cases)
            if clashes:
                raise RuntimeError(f"{len(clashes)} generated cases clash: {next(iter(clashes))}")
            tx.cases.attach_many(follow_ups, role="customer", at=start)
            tx.outbox.add([p.id for p in posts], "upsert")
        filled.cases += len(cases)
        filled.posts += len(posts)
        if progress:
            progress(f"filled {filled.cases:,} cases ({filled.posts:,} posts)")
    indexed = time.perf_counter()
    indexing.drain(store, open_search(config))
    filled.index_seconds = time.perf_counter() - indexed
    if store.dialect == "postgresql":  # what autovacuum would have done by now
        from sqlalchemy import text

        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    filled.seconds = time.perf_counter() - started
    return filled


def add_agent(config: Config, teams: Sequence[str]) -> str:
    """The agent the bench logs in as, working ``teams``. Returns the name."""
    from services import access

    access.add_user(
        config,
        AGENT,
        role="agent",
        password=AGENT_PASSWORD,
        teams=list(teams),
        display_name="Bench Agent",
    )
    return AGENT


# -- the console, over HTTP ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def console_server(config: Config, *, timeout: float = 90.0) -> Iterator[str]:
    """The console (uvicorn, one worker, ``web.app:create_app``) over ``config``'s store in
    its own process on a free local port. Yields its base URL."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "EARSHOT_CONFIG": str(config.path),
        "EARSHOT_HOME": str(config.home),
        "EARSHOT_DATABASE_URL": config.database_url,
    }
    env.pop("EARSHOT_ES_URL", None)
    command = [
        *(sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning", "--no-access-log"),
    ]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the console did not start:\n{_tail(log)}")
                try:
                    if httpx.get(f"{url}/login", timeout=2.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the console did not answer in {timeout:.0f} s:\n{_tail(log)}"
                    )
                time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _tail(log: Any, lines: int = 30) -> str:
    log.seek(0)
    return "\n".join(log.read().splitlines()[-lines:])


class Browser:
    """One logged-in agent: the session cookie and the page's CSRF token, sent by hand (the
    console's cookies are ``Secure``, which httpx keeps off plain http even on localhost, as
    browsers do not)."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=60.0, follow_redirects=False)
        self.session = ""
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login(self, name: str, password: str) -> None:
        form = self.http.get("/login")
        form.raise_for_status()
        found = re.search(r'name="login_nonce" value="([^"]+)"', form.text)
        nonce = form.cookies.get("earshot_login")
        if not found or not nonce:
            raise RuntimeError("the login page has no login nonce")
        done = self.http.post(
            "/login",
            data={"name": name, "password": password, "login_nonce": found.group(1), "next": "/"},
            headers={"cookie": f"earshot_login={nonce}"},
        )
        self.session = done.cookies.get("earshot_session") or ""
        if done.status_code != 303 or not self.session:
            raise RuntimeError(f"login as {name} failed: {done.status_code} {done.text[:200]}")
        for path in ("/queues", "/"):
            page = self.get(path)
            meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
            if page.status_code == 200 and meta:
                self.csrf = meta.group(1)
                return
        raise RuntimeError("no page carries the session's CSRF token (meta csrf-token)")

    def _cookie(self) -> dict[str, str]:
        return {"cookie": f"earshot_session={self.session}"}

    def get(self, path: str) -> Any:
        return self.http.get(path, headers=self._cookie())

    def act(self, case_id: str, action: str) -> Any:
        return self.http.post(
            f"/api/v1/cases/{case_id}/actions",
            json={"action": action},
            headers={**self._cookie(), "x-csrf-token": self.csrf},
        )


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = call()
    _ = response.content  # the whole body
    return (time.perf_counter() - started) * 1000, response


def stats(ms: Sequence[float], target: float | None = None) -> dict[str, Any]:
    """p50, p95 (nearest rank) and max of ``ms``; with ``target``, whether p95 is under it."""
    ordered = sorted(ms)
    if not ordered:
        return {"n": 0}

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    out: dict[str, Any] = {
        "n": len(ordered),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "max": ordered[-1],
    }
    if target is not None:
        out["target"] = target
        out["pass"] = out["p95"] < target
    return out


def page_path(browser: Browser, queue: str) -> tuple[str, str]:
    """The queue page's path and kind: the HTML page when it answers, else the JSON API."""
    response = browser.get(f"/queues/{queue}")
    if response.status_code == 200 and "text/html" in response.headers.get("content-type", ""):
        return "/queues/{queue}", "html"
    return "/api/v1/queues/{queue}/cases?limit=50", "api"


def measure_pages(browser: Browser, queues: Sequence[str], requests: int) -> dict[str, Any]:
    """``requests`` queue pages, round-robin over ``queues``."""
    path, kind = page_path(browser, queues[0])
    for queue in queues:
        for _ in range(WARMUP):
            browser.get(path.format(queue=queue))
    times: list[float] = []
    cases = 0
    for i in range(requests):
        queue = queues[i % len(queues)]
        ms, response = _timed(partial(browser.get, path.format(queue=queue)))
        if response.status_code != 200:
            raise RuntimeError(f"GET {path.format(queue=queue)}: {response.status_code}")
        times.append(ms)
        cases += response.text.count("data-case-id=") if kind == "html" else len(response.json())
    return {
        **stats(times, PAGE_TARGET_MS),
        "path": path,
        "kind": kind,
        "queues": list(queues),
        "cases_shown": cases,
        "ms": times,
    }


def measure_actions(browser: Browser, case_ids: Sequence[str], action: str) -> dict[str, Any]:
    """One ``action`` on each case, in turn."""
    times: list[float] = []
    results: dict[str, dict[str, Any]] = {}
    for case_id in case_ids:
        ms, response = _timed(partial(browser.act, case_id, action))
        if response.status_code != 200:
            raise RuntimeError(f"{action} {case_id}: {response.status_code} {response.text[:200]}")
        times.append(ms)
        results[case_id] = response.json()
    target = CLAIM_TARGET_MS if action == "claim" else None
    return {**stats(times, target), "action": action, "results": results, "ms": times}


def measure(
    config: Config,
    filled: Filled,
    *,
    requests: int = 200,
    claims: int = 200,
    seed: int = 16,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The agent of the busiest queues, through the console in its own process: queue pages,
    then claims of different new cases, then their release. Checks in the store that the
    claims and releases took."""
    from services.runtime import open_store

    teams = filled.busiest()
    name = add_agent(config, teams)
    rng = random.Random(seed)
    claimable = sorted(c for q in teams for c in filled.new_by_queue.get(q, ()))
    if len(claimable) < claims + WARMUP:
        raise RuntimeError(f"only {len(claimable)} new cases in {teams} for {claims} claims")
    picked = rng.sample(claimable, claims + WARMUP)
    warmup, chosen = picked[:WARMUP], picked[WARMUP:]
    store = open_store(config)
    with console_server(config) as url:
        browser = Browser(url)
        try:
            browser.login(name, AGENT_PASSWORD)
            if progress:
                progress(f"logged in as {name} (teams {', '.join(teams)}) at {url}")
            pages = measure_pages(browser, teams, requests)
            if progress:
                progress(f"{requests} queue pages")
            for case_id in warmup:
                browser.act(case_id, "claim").raise_for_status()
                browser.act(case_id, "release").raise_for_status()
            claimed = measure_actions(browser, chosen, "claim")
            after_claims = store.cases.get_many(chosen)
            released = measure_actions(browser, chosen, "release")
            after_releases = store.cases.get_many(chosen)
            if progress:
                progress(f"{claims} claims and releases")
        finally:
            browser.close()
    claimed["in_store"] = sum(
        1 for c in after_claims.values() if c.status == "claimed" and c.assignee == name
    )
    released["in_store"] = sum(
        1 for c in after_releases.values() if c.status == "new" and c.assignee is None
    )
    return {"agent": name, "teams": teams, "page": pages, "claim": claimed, "release": released}


# -- the report ---------------------------------------------------------------------------------


def _figures(result: dict[str, Any]) -> str:
    return f"p50 {result['p50']:.1f} ms, p95 {result['p95']:.1f} ms, max {result['max']:.1f} ms"


def _verdict(result: dict[str, Any]) -> str:
    return f"{'PASS' if result['pass'] else 'MISS'} (target p95 < {result['target']:.0f} ms)"


def run(
    label: str,
    database_url: str,
    n: int,
    *,
    requests: int,
    claims: int,
    print_: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fill a store at ``database_url`` with ``n`` cases and measure; prints the report."""
    from services.runtime import open_store

    with tempfile.TemporaryDirectory(prefix="earshot-console-bench-") as tmp:
        config = bench_config(database_url, Path(tmp) / "home")

        def progress(line: str) -> None:
            print_(f"    {line}")

        filled = fill(config, n, progress=progress)
        open_share = filled.open / max(1, filled.cases)
        print_(
            f"  {label}: filled {filled.cases:,} cases ({filled.posts:,} posts; {open_share:.0%}"
            f" open: {filled.by_status['new']:,} new, {filled.by_status['claimed']:,} claimed,"
            f" {filled.by_status['responded']:,} responded) in {filled.seconds:.1f} s"
            f" (search index {filled.index_seconds:.1f} s; not measured)"
        )
        result = measure(config, filled, requests=requests, claims=claims, progress=progress)
        open_store(config).dispose()
    page, claim, release = result["page"], result["claim"], result["release"]
    shown = page["cases_shown"] / max(1, page["n"])
    what = "HTML page" if page["kind"] == "html" else "JSON API: the HTML page did not answer 200"
    print_(
        f"    queue page GET {page['path']} ({what}; {shown:.0f} cases a page) over"
        f" {', '.join(f'{q} ({filled.open_by_queue[q]:,} open)' for q in page['queues'])}:"
        f" {page['n']} requests, {_figures(page)}: {_verdict(page)}"
    )
    print_(
        f"    claim POST /api/v1/cases/{{id}}/actions: {claim['n']} different new cases,"
        f" {_figures(claim)}: {_verdict(claim)}; {claim['in_store']} claimed in the store"
    )
    print_(
        f"    release (the same cases): {_figures(release)};"
        f" {release['in_store']} back to new in the store"
    )
    print_(f"    load average {os.getloadavg()[0]:.2f} after the measurement")
    return {"store": label, "filled": filled, **result}


def main(argv: list[str] | None = None) -> None:
    from nlp.bench import machine

    parser = argparse.ArgumentParser(prog="python -m services.console_bench")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="queue pages to time")
    parser.add_argument("--claims", type=int, default=200, help="claims (and releases) to time")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f} at the start")
    print(
        f"console: queue page and claim with {args.cases:,} cases, through HTTP (uvicorn in its"
        " own process, httpx, one request at a time)"
    )
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="earshot-console-db-") as tmp:
            run(
                "SQLite",
                f"sqlite:///{Path(tmp) / 'earshot.db'}",
                args.cases,
                requests=args.requests,
                claims=args.claims,
            )
    if args.store in ("postgres", "both"):
        server = os.environ.get("EARSHOT_TEST_DATABASE_URL")
        if server:
            with scratch_postgres(server, "earshot_console_bench") as url:
                run("PostgreSQL", url, args.cases, requests=args.requests, claims=args.claims)
        else:
            print("  PostgreSQL: skipped (set EARSHOT_TEST_DATABASE_URL to measure it)")
    print(f"  load average {os.getloadavg()[0]:.2f} at the end ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
