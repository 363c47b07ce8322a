"""The console end to end in a real browser: Debian's chromium, headless, driven by Playwright
over the console served by uvicorn (fixtures in :mod:`tests.web.browser`).

Each test acts as a user would (the login form, links, buttons, keys) and asserts what the
page shows, then checks that the store agrees. Every test also fails on a console error, an
uncaught script error, a Content-Security-Policy violation, an HTTP error answer or a dialog
it did not expect. The tests save the screenshots the README shows (docs/screenshots/).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Locator, Page, expect

from core.config import Config
from core.models import Author, Post
from services import access, console, feedback
from tests.conftest import make_enrichment
from tests.web.browser import UI, screenshot
from tests.web.conftest import PASSWORD, route_posts
from tests.web.test_pages import HOSTILE_TEXT, _hostile_case, as_user, detail
from web import pages
from web.app import CONTENT_SECURITY_POLICY

LIVE_TIMEOUT_MS = 30_000
"""How long a row may take to appear through the queue page's poll (every 2 s here)."""

CSV_HEADER = ["kind", "key", "handles", "score", "tier", "components", "evidence"]


def rows_of(page: Page) -> Locator:
    return page.locator("#case-table tbody tr[data-case-id]")


def row_ids(page: Page) -> list[str]:
    ids: list[str] = rows_of(page).evaluate_all("rows => rows.map(r => r.dataset.caseId)")
    return ids


def flash(page: Page) -> Locator:
    return page.locator("main p.flash")


def case_url(base: str, case_id: str) -> str:
    return f"{base}/cases/{quote(case_id, safe=':')}"


def case_url_pattern(base: str, case_id: str) -> re.Pattern[str]:
    """A case's address, with its colons as they are or escaped (the pages write them as
    they are, the script escapes them)."""
    parts = (re.escape(p) for p in case_id.split(":"))
    return re.compile(re.escape(f"{base}/cases/") + "(?::|%3A)".join(parts) + "$")


@pytest.fixture
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> int:
    """The queue page polls every 2 s (the shortest its script allows) instead of 5."""
    monkeypatch.setattr(pages, "POLL_SECONDS", 2)
    return 2


# -- log in, queues -------------------------------------------------------------------------------


def test_browser_login_through_the_form_lands_on_the_queues_and_opens_care(
    ui: UI, live_server: str, console_config: Config, fast_poll: int
) -> None:
    page = ui.new_page()
    page.goto("/")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.get_by_role("heading", name="Log in to Earshot")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_focused()
    screenshot(page, "login")

    ui.allow(r"status of 401|HTTP 401 for POST .*/login$")
    page.get_by_label("Name").fill("sam")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("wrong name or password"))
    expect(page.get_by_label("Name")).to_have_value("sam")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/queues")
    expect(page.get_by_role("heading", name="Your queues")).to_be_visible()
    expect(page.locator("header .who")).to_have_text("Sam · agent")

    # http://localhost is a secure context: Chromium keeps the Secure, HttpOnly cookie
    assert page.evaluate("window.isSecureContext") is True
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["earshot_session"]
    assert (session["secure"], session["httpOnly"], session["sameSite"]) == (True, True, "Strict")
    assert "earshot_login" not in cookies
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it

    queues = page.locator("table.queues tbody th a")
    expect(queues).to_have_text(["care"])  # sam works care only
    queues.first.click()
    expect(page).to_have_url(f"{live_server}/queues/care")
    expect(page.get_by_role("heading", name="Queues / care")).to_be_visible()
    expected = console.queue_cases(console_config, as_user(console_config, "sam"), "care")
    expect(rows_of(page)).to_have_count(len(expected))
    assert row_ids(page) == [c["id"] for c in expected]
    first = rows_of(page).first
    expect(first.locator('[data-col="status"]')).to_have_text("new")
    expect(first.locator('[data-col="priority"]')).to_have_text(str(expected[0]["priority"]))
    expect(first.locator(".post-text")).to_have_text(expected[0]["post"]["text"])
    # the live poll answers, and finds the rows the server rendered unchanged
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^Live: updated [^()]+$"))
    expect(page.locator("#live-status")).not_to_have_class(re.compile(r"\bstale\b"))
    screenshot(page, "queue")
    ui.assert_clean()


# -- acting on cases -------------------------------------------------------------------------------


def test_browser_claim_then_resolve_with_the_case_page_buttons(
    ui: UI, live_server: str, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_case"]
    page = ui.log_in("sam")
    page.goto(case_url(live_server, case_id))
    facts = page.locator(".page-head .facts")
    expect(facts.locator(".status")).to_have_text("new")
    expect(facts).to_contain_text("assignee: nobody")
    form = page.locator("#act-form")

    form.get_by_role("button", name=re.compile(r"^claim\b")).click()
    expect(flash(page)).to_have_text("You claimed the case.")
    expect(facts.locator(".status")).to_have_text("claimed")
    expect(facts).to_contain_text("assignee: sam")
    expect(form.get_by_role("button", name=re.compile(r"^claim\b"))).to_have_count(0)
    expect(form.get_by_role("button", name=re.compile(r"^resolve\b"))).to_be_visible()
    trail = page.locator("section[aria-labelledby=trail-title] tbody tr")
    expect(trail.last).to_contain_text("claim")
    expect(trail.last).to_contain_text("new → claimed")
    stored = detail(console_config, case_id)
    assert (stored["status"], stored["assignee"]) == ("claimed", "sam")
    screenshot(page, "case")

    form.get_by_role("button", name=re.compile(r"^resolve\b")).click()
    expect(flash(page)).to_have_text("The case is resolved.")
    expect(facts.locator(".status")).to_have_text("resolved")
    expect(page.locator("#act-form")).to_have_count(0)
    expect(page.locator("section.actions")).to_contain_text("Nothing you can do on this case now")
    expect(trail.last).to_contain_text("claimed → resolved")
    stored = detail(console_config, case_id)
    assert (stored["status"], stored["assignee"]) == ("resolved", "sam")
    assert [e["action"] for e in stored["events"]][-2:] == ["claim", "resolve"]
    done = [
        (e.action, e.actor, e.address)
        for e in access.audit_log(console_config, target=case_id)
        if e.action.startswith("cases.")
    ]
    assert sorted(done) == [
        ("cases.claim", "sam", "127.0.0.1"),
        ("cases.resolve", "sam", "127.0.0.1"),
    ]
    ui.assert_clean()


def test_browser_claim_with_the_keyboard_on_the_queue_page(
    ui: UI, live_server: str, console_config: Config
) -> None:
    page = ui.log_in("sam")
    page.goto("/queues/care")
    rows = rows_of(page)
    expect(rows.first).to_be_visible()

    page.keyboard.press("?")
    shortcuts = page.locator("dialog#shortcuts")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("claim the selected case")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_attribute("aria-selected", "true")
    expect(rows.nth(0)).not_to_have_attribute("aria-selected", "true")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_attribute("aria-selected", "true")
    case_id = rows.nth(0).get_attribute("data-case-id")
    assert case_id

    page.keyboard.press("c")
    expect(page.locator("#toast")).to_have_text(f"You claimed {case_id}.")
    row = page.locator(f'#case-table tr[data-case-id="{case_id}"]')
    expect(row.locator('[data-col="status"]')).to_have_text("claimed")
    expect(row.locator('[data-col="assignee"]')).to_have_text("sam")
    expect(row).to_have_attribute("aria-selected", "true")  # still selected after the poll
    stored = detail(console_config, case_id)
    assert (stored["status"], stored["assignee"]) == ("claimed", "sam")

    page.keyboard.press("c")  # a claimed case cannot be claimed again
    expect(page.locator("#toast")).to_have_text(
        "Only a new case can be claimed; this one is claimed."
    )
    expect(page.locator("#toast")).to_have_class(re.compile(r"\bbad\b"))

    page.keyboard.press("Enter")
    expect(page).to_have_url(case_url_pattern(live_server, case_id))
    expect(page.locator(".page-head .case-id")).to_have_text(case_id)
    expect(page.locator(".page-head .facts")).to_contain_text("assignee: sam")
    ui.assert_clean()


def test_browser_correct_a_label_on_the_case_page(
    ui: UI, live_server: str, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id, post_id = seeded["care_case"], seeded["care_post"]
    page = ui.log_in("sam")
    page.goto(case_url(live_server, case_id))
    opener = page.locator("li.post.opener")
    opener.get_by_text("Correct a label").click()
    form = opener.locator("form").filter(has=page.locator('input[name="task"][value="sentiment"]'))
    choice = form.get_by_label("sentiment")
    expect(choice).to_be_visible()
    current = choice.input_value()
    new = next(label for label in ("neutral", "positive", "negative") if label != current)
    choice.select_option(new)
    form.get_by_role("button", name="Correct").click()

    expect(page).to_have_url(f"{case_url(live_server, case_id)}?done=label")
    expect(flash(page)).to_have_text("Thanks: your correction is stored as training feedback.")
    (entry,) = access.audit_log(console_config, action="labels.correct", target=post_id)
    assert (entry.actor, entry.outcome, entry.address) == ("sam", "ok", "127.0.0.1")
    assert entry.detail == {"task": "sentiment", "label": new}
    stored = feedback.corrections(console_config)
    assert [label for _, label in stored["sentiment"]] == [new]
    assert stored["intent"] == []
    ui.assert_clean()


# -- live updates ----------------------------------------------------------------------------------


def test_browser_new_case_appears_live_on_the_open_queue_page(
    ui: UI, console_config: Config, fast_poll: int
) -> None:
    page = ui.log_in("sam")
    page.goto("/queues/care")
    expect(page.locator("#case-table")).to_have_attribute("data-poll", str(fast_poll))
    before = row_ids(page)
    assert len(before) == pages.QUEUE_PAGE  # a full page: the new case pushes the last out
    open_before = int(page.locator('[data-count="open"]').inner_text())
    new_before = int(page.locator('[data-count="new"]').inner_text())
    page.evaluate("window.sameDocument = true")

    post = Post(
        id="x:4242",
        source="x",
        url="https://x.com/vera/status/4242",
        author=Author(id="x:id-vera", handle="vera_v", display_name="Vera", followers=250_000),
        text="Third time my order is late and nobody answers. I want my money back today.",
        created_at=datetime.now(UTC),
    )
    route_posts(console_config, [post], [make_enrichment(post.id, intent="complaint")])
    case_id = f"case:{post.id}"

    row = page.locator(f'#case-table tr[data-case-id="{case_id}"]')
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.sameDocument") is True  # no reload
    expect(row).to_have_class(re.compile(r"\bfresh\b"))
    expect(row.locator(".post-text")).to_have_text(post.text)
    expect(row.locator("bdi.handle")).to_have_text("@vera_v")
    expect(row.locator('[data-col="status"]')).to_have_text("new")
    expect(row.locator("a.case-link")).to_have_attribute(
        "href", f"/cases/{quote(case_id, safe='')}"
    )
    expected = console.queue_cases(console_config, as_user(console_config, "sam"), "care")
    assert row_ids(page) == [c["id"] for c in expected]  # in the server's order
    assert before[-1] not in row_ids(page)
    expect(page.locator("#live-status")).to_contain_text("Live: updated")
    # the header's counts follow
    expect(page.locator('[data-count="open"]')).to_have_text(str(open_before + 1))
    expect(page.locator('[data-count="new"]')).to_have_text(str(new_before + 1))
    summary = console.queue_summary(console_config, as_user(console_config, "sam"), "care")
    expect(page.locator('[data-count="overdue"]')).to_have_text(str(summary["overdue"]))
    ui.assert_clean()


# -- marketing, search, overview --------------------------------------------------------------------


def test_browser_export_advocates_as_csv(ui: UI, live_server: str, console_config: Config) -> None:
    page = ui.log_in("maya")
    expect(page).to_have_url(f"{live_server}/advocates")
    expect(page.get_by_role("heading", name="Advocates")).to_be_visible()
    rows = page.locator("table.advocates tbody tr")
    expected = console.advocates(console_config, as_user(console_config, "maya"))
    assert expected
    expect(rows).to_have_count(len(expected))
    screenshot(page, "advocates")

    for network in ("", "x"):
        if network:
            page.get_by_label("Network").select_option(network)
            page.get_by_role("button", name="Show").click()
            expect(page).to_have_url(re.compile(rf"network={network}"))
        shown = rows.locator("td.num.strong").all_inner_texts()
        assert shown
        with page.expect_download() as info:
            page.get_by_role("link", name="Export CSV").click()
        download = info.value
        assert download.failure() is None
        assert download.suggested_filename == "advocates.csv"
        table = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
        assert table[0] == CSV_HEADER
        assert len(table) - 1 == len(shown) == rows.count()
        assert [f"{float(r[3]):.3f}" for r in table[1:]] == shown
        assert all(r[0] == "advocate" for r in table[1:])
        if network:
            assert all(h.startswith("x:") for r in table[1:] for h in r[2].split())
    exports = access.audit_log(console_config, action="advocates.export")
    assert [(e.actor, e.address) for e in exports] == [("maya", "127.0.0.1")] * 2
    ui.assert_clean()


def test_browser_search_with_a_word_and_a_filter(
    ui: UI, live_server: str, console_config: Config
) -> None:
    page = ui.log_in("ana")
    expect(page).to_have_url(f"{live_server}/search")
    page.get_by_label("Text").fill("refund")
    page.get_by_label("Intent").select_option("billing")
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"/search\?q=refund&.*intent=billing"))
    expected = console.search(
        console_config,
        as_user(console_config, "ana"),
        "refund",
        filters={"intent": "billing"},
        limit=50,
    )
    assert expected
    results = page.locator("ol.results li.result")
    expect(results).to_have_count(len(expected))
    noun = "result" if len(expected) == 1 else "results"
    expect(page.locator("p.counts")).to_have_text(re.compile(rf"^{len(expected)} {noun}"))
    expect(results.locator(".badge.intent")).to_have_text(["intent billing"] * len(expected))
    expect(results.first.locator(".post-text")).to_contain_text(re.compile("refund", re.I))
    texts = results.locator(".post-text").all_text_contents()
    assert texts == [r["post"]["text"] for r in expected]
    expect(page.get_by_label("Text")).to_have_value("refund")
    expect(page.get_by_label("Intent")).to_have_value("billing")
    page.get_by_label("Text").blur()
    screenshot(page, "search")
    ui.assert_clean()


OVERVIEW_CHARTS = ("chart-intent", "chart-sentiment", "chart-backlog", "chart-sla")

CHARTS_DRAWN = """ids => ids.map(id => {
  const canvas = document.getElementById(id);
  const chart = canvas && window.Chart ? window.Chart.getChart(canvas) : undefined;
  if (!chart) return { id: id, drawn: false };
  return {
    id: id,
    drawn: !!chart.chartArea && chart.chartArea.width > 0 && chart.chartArea.height > 0,
    type: chart.config.type,
    labels: chart.data.labels.map(String),
    datasets: chart.data.datasets.map(d => d.label),
    total: chart.data.datasets.reduce(
      (sum, d) => sum + d.data.reduce((s, v) => s + (typeof v === "number" ? v : 0), 0), 0),
    width: canvas.clientWidth,
    height: canvas.clientHeight,
  };
})"""


def test_browser_overview_draws_its_charts_without_errors(
    ui: UI, live_server: str, console_config: Config
) -> None:
    page = ui.log_in("lee")
    page.get_by_role("link", name="Overview").click()
    expect(page).to_have_url(f"{live_server}/overview")
    # the samples are from 2-10 Nov 2026; the window ends at the newest post
    page.get_by_label("Period").select_option("30")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{live_server}/overview?days=30")
    expect(page.get_by_label("Period")).to_have_value("30")
    for canvas in OVERVIEW_CHARTS:
        expect(page.locator(f"canvas#{canvas}")).to_be_visible()
    page.wait_for_function(
        "ids => window.Chart && ids.every(id => window.Chart.getChart(document.getElementById(id)))",
        arg=list(OVERVIEW_CHARTS),
    )
    charts = {c["id"]: c for c in page.evaluate(CHARTS_DRAWN, list(OVERVIEW_CHARTS))}
    assert all(c["drawn"] and c["width"] > 0 and c["height"] > 0 for c in charts.values()), charts

    data = console.overview(console_config, as_user(console_config, "lee"), days=30)
    days = sorted(data["volumes"])
    assert days and days[0] >= "2026-11-02" and days[-1] <= "2026-11-10", days
    intent, sentiment = charts["chart-intent"], charts["chart-sentiment"]
    assert intent["labels"] == sentiment["labels"] == days
    posts = sum(sum(v["intent"].values()) for v in data["volumes"].values())
    assert intent["total"] == sum(sum(v["sentiment"].values()) for v in data["volumes"].values())
    assert intent["total"] == posts > 0
    assert sorted(sentiment["datasets"]) == ["negative", "neutral", "positive"]
    backlog = charts["chart-backlog"]
    assert backlog["labels"] == list(data["backlog"])
    assert backlog["datasets"][:5] == ["<1h", "1-4h", "4-24h", "1-3d", ">3d"]
    assert backlog["total"] == sum(sum(b.values()) for b in data["backlog"].values()) > 0
    assert charts["chart-sla"]["labels"] == list(data["queues"])
    tiles = page.locator(".tile .tile-value")
    expect(tiles.first).to_have_text(str(data["overall"]["cases"]))
    screenshot(page, "overview")
    ui.assert_clean()


# -- hostile content -------------------------------------------------------------------------------

INERT = """() => {
  const attrs = [];
  document.querySelectorAll("*").forEach(el => {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) attrs.push(el.tagName + " " + a.name);
      if (/^(href|src|action|formaction|xlink:href)$/i.test(a.name) && /^\\s*javascript:/i.test(a.value))
        attrs.push(el.tagName + " " + a.name + "=" + a.value);
    }
  });
  return {
    scripts: Array.from(document.scripts).map(s => s.src || "inline " + (s.type || "js")),
    images: document.images.length,
    markup: document.querySelectorAll("main b, main img, main iframe, main object, main embed").length,
    attrs: attrs,
    protocols: Array.from(new Set(Array.from(document.links).map(a => a.protocol))),
  };
}"""


def assert_inert(page: Page, base: str) -> None:
    """Nothing on the page came alive from a post: only the console's own scripts, no image,
    no markup, no event-handler attribute, no javascript: link."""
    found = page.evaluate(INERT)
    allowed = {f"{base}/static/console.js", f"{base}/static/vendor/chart.umd.min.js"}
    assert set(found["scripts"]) <= allowed | {"inline application/json"}, found["scripts"]
    assert (found["images"], found["markup"], found["attrs"]) == (0, 0, []), found
    assert set(found["protocols"]) <= {"http:", "https:"}, found["protocols"]


def assert_hostile_row(row: Locator) -> None:
    text = row.locator(".post-text")
    expect(text).to_be_visible()
    expect(text).to_have_attribute("dir", "auto")
    assert text.text_content() == HOSTILE_TEXT  # literal: tags, entities, bidi controls
    expect(text).to_contain_text("<script>alert(1)</script>")
    expect(text).to_contain_text("&lt;b&gt;not bold&lt;/b&gt;")
    expect(row.locator("bdi.handle")).to_have_text("@mallory\u202e")
    expect(row.locator("script, img, b")).to_have_count(0)
    expect(row.locator("a.case-link")).to_have_attribute("href", re.compile(r"^/cases/"))


def test_browser_hostile_post_is_inert_on_the_queue_and_case_pages(
    ui: UI, live_server: str, console_config: Config, fast_poll: int
) -> None:
    page = ui.log_in("sam")
    page.goto("/queues/care")
    expect(rows_of(page).first).to_be_visible()

    case_id = _hostile_case(console_config)  # routed now: the poll brings it in
    row = page.locator(f'#case-table tr[data-case-id="{case_id}"]')
    expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(row).to_have_class(re.compile(r"\bfresh\b"))  # added by the script
    assert_hostile_row(row)
    assert_inert(page, live_server)

    page.reload()
    expect(row).to_be_visible()
    expect(row).not_to_have_class(re.compile(r"\bfresh\b"))  # rendered by the server
    assert_hostile_row(row)
    assert_inert(page, live_server)

    console.act(
        console_config,
        as_user(console_config, "sam"),
        case_id,
        "claim",
        note="<script>alert('note')</script> <img src=x onerror=alert(2)>\u202e",
    )
    row.locator("a.case-link").click()
    expect(page).to_have_url(case_url_pattern(live_server, case_id))
    opener = page.locator("li.post.opener")
    expect(opener.locator("p.post-text")).to_have_attribute("dir", "auto")
    assert opener.locator("p.post-text").text_content() == HOSTILE_TEXT
    expect(opener.locator("bdi.name")).to_have_text('<script>alert("name")</script>\u202eMallory')
    expect(opener.locator("a.ext")).to_have_count(0)  # its javascript: URL is no link
    reasons = page.locator("ul.reasons li")
    expect(reasons.first).to_have_text("<b>order</b> <script>alert('reason')</script>")
    expect(page.locator("section[aria-labelledby=trail-title]")).to_contain_text(
        "<script>alert('note')</script> <img src=x onerror=alert(2)>"
    )
    assert_inert(page, live_server)
    assert ui.dialogs == []
    ui.assert_clean()


# -- every page: no console error, no CSP violation ------------------------------------------------

PAGES_BY_USER: list[tuple[str | None, list[str]]] = [
    (None, ["/login"]),
    ("sam", ["/queues", "/queues/care", "/cases/{care_case}"]),
    ("maya", ["/advocates", "/advocates?kind=detractor&network=x&days=365"]),
    ("ana", ["/search", "/search?q=refund&sentiment=negative"]),
    ("lee", ["/overview?days=365", "/queues/billing"]),
    ("ada", ["/admin/users", "/admin/audit", "/admin/configuration"]),
]


def test_browser_every_page_loads_without_console_errors_or_csp_violations(
    ui: UI, live_server: str, seeded: dict[str, Any], fast_poll: int
) -> None:
    for name, paths in PAGES_BY_USER:
        page = ui.log_in(name) if name else ui.new_page()
        for path in paths:
            answer = page.goto(path.format(**seeded))
            assert answer is not None and answer.status == 200, (name, path)
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            expect(page.locator("main h1")).to_be_visible()
            if path.startswith("/queues/"):
                expect(page.locator("#live-status")).to_contain_text("Live: updated")
            if path.startswith("/overview"):
                page.wait_for_function("window.Chart && Chart.getChart('chart-intent')")
            if path == "/admin/users":
                expect(page.locator("table.users tbody tr")).to_have_count(6)
                screenshot(page, "admin-users")
        assert ui.problems == [], (name, ui.problems)
    ui.assert_clean()


def test_browser_the_watch_catches_csp_violations_and_dialogs(
    ui: UI, console_config: Config
) -> None:
    """The checks above are not vacuous: an injected inline script is refused by the CSP and
    reported, and a confirm dialog (deactivating a user asks first) is seen."""
    page = ui.log_in("ada")
    with page.expect_console_message(lambda m: "CSP violation" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.ran = true'; document.body.appendChild(s); }"
        )
    assert page.evaluate("window.ran") is None  # refused
    assert any("CSP violation: script-src" in p for p in ui.problems), ui.problems
    ui.problems.clear()

    row = page.locator("table.users tbody tr").filter(has_text="bea")
    row.get_by_role("button", name="Deactivate").click()
    expect(row.locator("td").nth(3)).to_have_text("active")
    assert ui.dialogs == [
        "confirm: Deactivate bea? Their sessions and API tokens stop working at once."
    ]
    assert access.get_user(console_config, "bea").active  # dismissed: nothing happened
    ui.dialogs.clear()
    ui.assert_clean()
