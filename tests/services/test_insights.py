"""Marketing insights over the stored samples, on both databases: the lists, one person
across networks, spike alerts from the outage morning, the webhook, and idempotence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from core.config import Config, load_config
from core.errors import InvalidValueError
from services import authors, insights, pipeline
from services.runtime import open_store
from tests.conftest import ROOT, write_config

AT = datetime(2026, 11, 11, tzinfo=UTC)  # the day after the samples' last post
OUTAGE = datetime(2026, 11, 6, 7, 0, tzinfo=UTC)


@pytest.fixture
def stored(database: str, tmp_path: Path) -> Config:
    config = load_config(write_config(tmp_path))
    authors.import_csv(config, ROOT / "samples" / "crm" / "customers.csv")
    pipeline.run_once(config)
    return config


def test_insights_lists_from_the_samples(stored: Config) -> None:
    counts = insights.score(stored, at=AT)
    assert counts["advocate"] >= 3 and counts["superuser"] >= 3 and counts["detractor"] >= 1
    advocates = insights.top(stored, kind="advocate", limit=5)
    # priya_builds is linked to CRM customer C-3003: listed once, as the profile
    assert advocates[0].key == "crm:C-3003" and advocates[0].profile_id == "crm:C-3003"
    assert {"x:tomas_at_home", "x:smarthomesally"} <= {a.key for a in advocates}
    superusers = {s.key for s in insights.top(stored, kind="superuser", limit=3)}
    assert superusers == {"reddit:thermostat_wizard", "reddit:hub_helper_uk", "reddit:circuitcass"}
    (detractor,) = insights.top(stored, kind="detractor", limit=5)
    assert detractor.key == "x:gadgetgrump" and detractor.components["reach"] > 5
    every = [s for kind in ("advocate", "superuser") for s in insights.top(stored, kind=kind)]
    brand = {"x:haldenhome", "x:haldensupport", "reddit:haldenhome_mod"}
    assert not brand & {s.key for s in every}
    links = insights.evidence_links(stored, advocates[:1])
    assert all(url.startswith("https://x.com/priya_builds/") for url in links.values())


def test_insights_scoring_replaces_the_lists(stored: Config) -> None:
    insights.score(stored, at=AT)
    first = insights.top(stored, kind="advocate")
    insights.score(stored, at=AT)
    assert insights.top(stored, kind="advocate") == first
    later = datetime(2027, 6, 1, tzinfo=UTC)  # every post is out of the 90-day window now
    assert insights.score(stored, at=later) == {"advocate": 0, "superuser": 0, "detractor": 0}
    assert insights.top(stored, kind="advocate") == []


def test_insights_since_and_network_filters(stored: Config) -> None:
    insights.score(stored, at=AT)
    reddit_only = insights.top(stored, kind="superuser", network="reddit")
    assert reddit_only and all(any(n == "reddit" for n, _ in s.handles) for s in reddit_only)
    assert insights.top(stored, kind="superuser", network="x") == []
    with pytest.raises(InvalidValueError, match="unknown kind"):
        insights.top(stored, kind="fan")


def test_insights_spikes_find_the_outage_morning_once(stored: Config) -> None:
    new = insights.check_spikes(stored, at=AT)
    keys = {(a.kind, a.key, a.window_start) for a in new}
    assert ("intent", "technical", OUTAGE) in keys
    assert ("phrase", "hub offline", OUTAGE) in keys
    assert all(a.window_start.date().isoformat() == "2026-11-06" for a in new)  # nothing else
    technical = next(a for a in new if a.key == "technical")
    assert technical.count >= 8 and technical.baseline < 2 and len(technical.examples) == 3
    assert insights.check_spikes(stored, at=AT) == []  # checked already: no new alerts
    assert len(insights.alerts(stored)) == len(new)


def test_insights_spike_webhook_is_told_once(
    database: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    data = yaml.safe_load((ROOT / "config" / "insights.yaml").read_text(encoding="utf-8"))
    data["spikes"]["webhook"] = httpserver.url_for("/spikes")
    settings = tmp_path / "insights.yaml"
    settings.write_text(yaml.safe_dump(data), encoding="utf-8")
    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["insights"] = str(settings)
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    config = load_config(path)
    pipeline.run_once(config)
    httpserver.expect_request("/spikes", method="POST").respond_with_data("ok")
    new = insights.check_spikes(config, at=AT)
    assert len(httpserver.log) == len(new) > 0
    bodies = [request.get_json() for request, _ in httpserver.log]
    assert {b["earshot"]["key"] for b in bodies} == {a.key for a in new}
    assert bodies[0]["text"].startswith(":chart_with_upwards_trend: Spike:")
    insights.check_spikes(config, at=AT)
    assert len(httpserver.log) == len(new)  # each alert is sent once
    assert open_store(config).insights.alerts(unnotified=True) == []


def test_insights_detractor_shows_in_the_care_view(stored: Config) -> None:
    from services import cases

    insights.score(stored, at=AT)
    keys = cases.detractor_keys(stored)
    grump = [c for c in cases.list_cases(stored, limit=500) if c.author_handle == "gadgetgrump"]
    others = [c for c in cases.list_cases(stored, limit=500) if c.author_handle != "gadgetgrump"]
    assert grump and all(cases.is_detractor(c, keys) for c in grump)
    assert not any(cases.is_detractor(c, keys) for c in others)
    view = cases.show(stored, grump[0].id)
    assert view.detractor is not None and view.detractor.key == "x:gadgetgrump"
