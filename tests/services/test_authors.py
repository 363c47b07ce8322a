"""One customer across networks: manual links and the CRM import (bad rows named by file and
line), and what a customer's view shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config, load_config
from core.errors import InputError, InvalidValueError, NotFoundError
from services import authors
from services.runtime import open_store
from tests.conftest import ROOT, write_config
from tests.services.test_cases import T0, feed, post


@pytest.fixture
def config(database: str, tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path))


def test_authors_link_joins_handles_and_moves_them(config: Config) -> None:
    first = authors.link(config, ["x:@Dani_Reyes", "reddit:u/burnt_toast_99"], crm_id="C-1")
    assert first.id == "crm:C-1"
    assert first.handles == (("reddit", "burnt_toast_99"), ("x", "Dani_Reyes"))
    again = authors.link(config, ["x:dani_reyes"], tier="vip")  # found by handle, any case
    assert (again.id, again.tier, again.crm_id) == ("crm:C-1", "vip", "C-1")
    solo = authors.link(config, ["x:other"])
    assert solo.id == "profile:x:other"
    merged = authors.link(config, ["x:other"], crm_id="C-1")  # moves to C-1's profile
    assert ("x", "other") in merged.handles
    store = open_store(config)
    assert store.profiles.get("profile:x:other") is None  # the emptied profile is gone
    assert store.profiles.count() == 1


@pytest.mark.parametrize(
    ("handles", "message"),
    [
        (["dani"], "no handle: write network:handle"),
        (["mastodon:dani"], "no handle"),
        (["x:"], "no handle"),
        (["x:two words"], "no spaces"),
    ],
)
def test_authors_link_rejects_bad_handles(config: Config, handles: list[str], message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        authors.link(config, handles)


def test_authors_link_rejects_unknown_tier(config: Config) -> None:
    with pytest.raises(InvalidValueError, match="unknown tier 'gold'"):
        authors.link(config, ["x:dani"], tier="gold")


def test_authors_import_the_bundled_sample(config: Config) -> None:
    result = authors.import_csv(config, ROOT / "samples" / "crm" / "customers.csv")
    assert (result.profiles, result.handles, result.rejected) == (3, 4, [])
    store = open_store(config)
    dani = store.profiles.by_crm("C-1001")
    assert dani is not None
    assert dani.handles == (("reddit", "burnt_toast_99"), ("x", "dani_reyes"))
    mo = store.profiles.by_crm("C-2002")
    assert mo is not None and mo.tier == "vip"
    again = authors.import_csv(config, ROOT / "samples" / "crm" / "customers.csv")
    assert again.rejected == [] and store.profiles.count() == 3  # idempotent


def test_authors_import_rejects_bad_rows_with_file_and_line(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "network,handle,crm_id,tier,name\n"
        "x,good_one,C-1,,Good\n"  # line 2
        "myspace,tom,C-2,,\n"  # 3: unknown network
        "x,,C-3,,\n"  # 4: no handle
        "x,nocrm,,,\n"  # 5: no CRM id
        "x,gold_member,C-4,gold,\n"  # 6: unknown tier
        "x,good_one,C-5,,\n"  # 7: handle already C-1's
        "reddit,good_two,C-1,vip,\n"  # 8: fine (C-1 gets vip)
        "x,too,C-6,,,extra\n",  # 9: too many fields
        encoding="utf-8",
    )
    result = authors.import_csv(config, path)
    assert [line.split(": ")[0] for line in result.rejected] == [
        f"{path}:3",
        f"{path}:4",
        f"{path}:5",
        f"{path}:6",
        f"{path}:7",
        f"{path}:9",
    ]
    assert "unknown tier 'gold'" in result.rejected[3]
    assert "is already customer C-1 (line 2)" in result.rejected[4]
    assert (result.profiles, result.handles) == (1, 2)
    c1 = open_store(config).profiles.by_crm("C-1")
    assert c1 is not None and c1.tier == "vip" and len(c1.handles) == 2


def test_authors_import_needs_its_columns(config: Config, tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("user,id\nx,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"crm.csv:1: missing columns \['network', 'handle'"):
        authors.import_csv(config, path)


def test_authors_show_lists_posts_and_cases_on_every_network(config: Config) -> None:
    authors.link(config, ["x:dani_reyes", "reddit:burnt_toast_99"], crm_id="C-1001")
    feed(config, [post("100")])
    feed(
        config,
        [
            post(
                "t3_x",
                source="reddit",
                handle="burnt_toast_99",
                conversation="t3_x",
                at=T0.replace(hour=12),
            )
        ],
    )
    view = authors.show(config, "crm:C-1001")
    assert [p.id for p in view.posts] == ["reddit:t3_x", "x:100"]
    assert sorted(c.id for c in view.open_cases) == ["case:reddit:t3_x", "case:x:100"]
    assert authors.show(config, "reddit:burnt_toast_99").profile == view.profile
    with pytest.raises(NotFoundError, match="nothing known of x:nobody"):
        authors.show(config, "x:nobody")
