"""The care report on a fixture whose figures were worked out by hand (see each comment)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Config, load_config
from services import care_report, cases
from services.runtime import router
from tests.conftest import write_config
from tests.services.test_cases import T0, feed, post

AT = T0 + timedelta(hours=5)  # 15:00 UTC on Tuesday 3 November 2026


@pytest.fixture
def scenario(database: str, tmp_path: Path) -> Config:
    """Six cases (times from T0 = 10:00 UTC; billing: 60 business minutes, care: 60):

    | case | queue   | posted | outcome                                 | FRT | SLA     |
    | A x:1 | billing | +0     | ana replies at +30                     | 30  | met     |
    | B x:2 | billing | +10    | ben replies at +100                    | 90  | missed  |
    | C x:3 | billing | +20    | ana moves it private at +40            | 20  | met     |
    | D x:4 | billing | +30    | nobody (due +90, report at +300)       | -   | missed  |
    | E x:5 | billing | +290   | nobody (due +350)                      | -   | pending |
    | F x:6 | care    | +60    | ana answers with a help article at +70 | 10  | met     |
    """
    config = load_config(write_config(tmp_path))
    cases.add_agent(config, "ana", queues=["billing", "care"])
    cases.add_agent(config, "ben", queues=["billing"])
    minutes = {"1": 0, "2": 10, "3": 20, "4": 30, "5": 290}
    for n, m in minutes.items():
        feed(config, [post(n, handle=f"user{n}", at=T0 + timedelta(minutes=m))])
    feed(config, [post("6", handle="user6", at=T0 + timedelta(minutes=60))], intent="complaint")
    article = router(config).config.articles[0].id

    def at(m: int):
        return T0 + timedelta(minutes=m)

    cases.act(config, "case:x:1", "respond", agent="ana", at=at(30))
    cases.act(config, "case:x:2", "respond", agent="ben", at=at(100))
    cases.act(config, "case:x:3", "move_private", agent="ana", at=at(40))
    cases.act(config, "case:x:6", "respond", agent="ana", article=article, at=at(70))
    return config


def test_care_report_figures_match_the_hand_computed_answers(scenario: Config) -> None:
    data = care_report.figures(scenario, at=AT)
    assert data["overall"] == {
        "cases": 6,
        "responded": 4,
        "first_response_median_min": 25.0,  # median of 10, 20, 30, 90
        "first_response_p90_min": 90.0,  # nearest rank: the 4th of 4
        "sla_met": 3,
        "sla_missed": 2,
        "sla_attainment": 0.6,  # E is not due yet: 3 of 5
    }
    assert data["queues"]["billing"] == {
        "cases": 5,
        "responded": 3,
        "first_response_median_min": 30.0,
        "first_response_p90_min": 90.0,
        "sla_met": 2,
        "sla_missed": 2,
        "sla_attainment": 0.5,
    }
    assert data["queues"]["care"]["sla_attainment"] == 1.0
    assert data["responders"]["ana"] == {
        "cases": 3,
        "responded": 3,
        "first_response_median_min": 20.0,
        "first_response_p90_min": 30.0,
        "sla_met": 3,
        "sla_missed": 0,
        "sla_attainment": 1.0,
    }
    assert data["responders"]["ben"]["sla_attainment"] == 0.0
    assert data["moved_private_share"] == 0.167  # C: 1 of 6
    assert data["self_service_share"] == 0.25  # F: 1 of 4 answered
    # Open: A, B, F (responded), D, E (new). Ages at 15:00: A 5h, B 4h50, D 4h30, F 4h, E 10m.
    assert data["backlog"] == {
        "billing": {"<1h": 1, "1-4h": 0, "4-24h": 3, "1-3d": 0, ">3d": 0},
        "care": {"<1h": 0, "1-4h": 0, "4-24h": 1, "1-3d": 0, ">3d": 0},
    }
    assert data["volumes"] == {
        "2026-11-03": {"intent": {"billing": 5, "complaint": 1}, "sentiment": {"negative": 6}}
    }


def test_care_report_since_counts_cases_posted_from_then(scenario: Config) -> None:
    data = care_report.figures(scenario, since=T0 + timedelta(minutes=15), at=AT)
    assert data["overall"]["cases"] == 4  # C, D, E, F
    assert data["overall"]["sla_attainment"] == round(2 / 3, 3)  # C, F met; D missed


def test_care_report_formats(scenario: Config) -> None:
    data = care_report.figures(scenario, at=AT)
    rows = list(csv.DictReader(io.StringIO(care_report.format_csv(data))))
    assert {
        "section": "queue",
        "group": "billing",
        "metric": "sla_attainment",
        "value": "0.5",
    } in rows
    assert {"section": "backlog", "group": "billing", "metric": "4-24h", "value": "3"} in rows
    table = care_report.format_table(data)
    assert "billing" in table and "50.0%" in table and "Moved private: 16.7% of cases" in table
    assert json.loads(json.dumps(data)) == data  # what --format json prints


def test_care_report_p90_is_nearest_rank() -> None:
    assert care_report.p90([]) is None
    assert care_report.p90([5.0]) == 5.0
    assert care_report.p90([float(i) for i in range(1, 11)]) == 9.0
    assert care_report.p90([float(i) for i in range(1, 12)]) == 10.0
