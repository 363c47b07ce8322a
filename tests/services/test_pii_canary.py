"""The PII canary: cards, emails, phones and IBANs planted in post text, display names, bios
and broken records, run through a real ``earshot -v run --once`` on SQLite and PostgreSQL;
then every table, the search index, the log output and the dead letters are searched for
them.

The promise checked: card numbers appear nowhere (masked where posts enter); emails, phone
numbers and IBANs appear only in the stored post an agent reads (``posts.text``, ``title`` and
``author_name``), never in the search index, the labels, staging, dead letters or logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml
from sqlalchemy import create_engine, inspect, text

from tests.conftest import ROOT
from tests.pii_canary import (
    CANARY_CARDS,
    CANARY_EMAILS,
    CANARY_IBANS,
    CANARY_PHONES,
    card_needles,
    raw_needles,
)
from tests.services.crash_corpus import FAST_CLASSIFIERS, earshot

AGENT_VIEW = {("posts", "text"), ("posts", "title"), ("posts", "author_name")}
"""Where an email, a phone number or an IBAN may stay: the post as its author wrote it."""


def canary_feed(folder: Path) -> None:
    """Every canary in a post's text, in a display name and in a bio, and in broken records."""
    secrets = [*CANARY_CARDS, *CANARY_EMAILS, *CANARY_PHONES, *CANARY_IBANS]
    users, tweets = [], []
    for i, secret in enumerate(secrets):
        user = {
            "id": str(1_600_000_000 + i),
            "username": f"canary{i}",
            "name": f"Canary {secret}",
            "description": f"reach me: {secret}",
        }
        users.append(user)
        base = {
            "author_id": user["id"],
            "created_at": "2026-11-20T10:00:00.000Z",
            "lang": "en",
        }
        tweets.append(
            {**base, "id": str(1_995_000_000_000_000_000 + i), "text": f"refund to {secret} pls"}
        )
        # Broken records quoting the secret (as an id, the error message quotes it; in the
        # text of a record with no time): both go to the dead-letter table.
        if not secret.isdigit():  # a bare run of digits is a valid tweet id
            tweets.append({**base, "id": secret, "text": f"@HaldenSupport details: {secret}"})
        tweets.append(
            {"id": str(1_996_000_000_000_000_000 + i), "author_id": user["id"], "text": secret}
        )
    (folder / "canary.jsonl").write_text(
        json.dumps({"data": tweets, "includes": {"users": users}})
        + "\n"
        + json.dumps({"data": [{"id": "1", "text": f"id {CANARY_CARDS[1]}"}]})  # no author
        + "\n",
        encoding="utf-8",
    )
    reddit = {
        "kind": "Listing",
        "data": {
            "children": [
                {
                    "kind": "t3",
                    "data": {
                        "name": f"t3_canary{i}",
                        "author": f"canary_r{i}",
                        "title": f"Card problem {secret}",
                        "selftext": f"my card {secret} was charged twice",
                        "created_utc": 1_790_000_000 + i,
                        "permalink": f"/r/halden/comments/canary{i}/",
                    },
                }
                for i, secret in enumerate(secrets)
            ]
        },
    }
    (folder / "canary-reddit.jsonl").write_text(json.dumps(reddit) + "\n", encoding="utf-8")


def everything_written(url: str) -> Iterator[tuple[str, str, str]]:
    """``(table, column, value)`` of every non-null cell of every table of the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                for row in rows:
                    for column, value in row.items():
                        if value is None:
                            continue
                        if isinstance(value, bytes | memoryview):
                            shown = bytes(value).decode("utf-8", "backslashreplace")
                        elif isinstance(value, dict | list):
                            shown = json.dumps(value, ensure_ascii=False)
                        else:
                            shown = str(value)
                        yield table, column, shown
    finally:
        engine.dispose()


def test_pii_canary_leaks_nowhere(database: str, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    canary_feed(feed)
    config = yaml.safe_load((ROOT / "earshot.yaml").read_text(encoding="utf-8"))
    config.update(
        intents=str(ROOT / "config" / "intents.yaml"),
        routing=str(ROOT / "config" / "routing.yaml"),
        insights=str(ROOT / "config" / "insights.yaml"),
        classifiers={**FAST_CLASSIFIERS, "pii": "pii.spacy.v1"},
        sources=[
            {
                "name": "canary_x",
                "type": "replay",
                "network": "x",
                "paths": [str(feed / "canary.jsonl")],
            },
            {
                "name": "canary_reddit",
                "type": "replay",
                "network": "reddit",
                "paths": [str(feed / "canary-reddit.jsonl")],
            },
        ],
    )
    config_path = tmp_path / "earshot.yaml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")

    process = earshot(config_path, "-v", "run", "--once")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]
    logs = out.decode() + err.decode()
    assert "bad record sent to the dead-letter table" in logs  # the broken records were logged

    leaks = [n for n in raw_needles() if n in logs]
    assert leaks == [], f"in the log output: {leaks}"

    cells = list(everything_written(database))
    secrets = len(CANARY_CARDS) + len(CANARY_EMAILS) + len(CANARY_PHONES) + len(CANARY_IBANS)
    posts = sum(1 for t, c, _ in cells if (t, c) == ("posts", "id"))
    letters = [v for t, c, v in cells if (t, c) == ("dead_letters", "error")]
    assert posts == 2 * secrets  # one X post and one Reddit post per secret
    assert len(letters) == 2 * secrets  # + the page without author - the all-digit id
    assert sum("must be a numeric id, got" in v for v in letters) == secrets - 1
    tables = {table for table, _, _ in cells}
    assert {"posts", "search_documents", "dead_letters", "enrichments"} <= tables
    stored = [v for t, c, v in cells if (t, c) in AGENT_VIEW]
    assert any("jürgen@müller.example" in v for v in stored)  # the agent still sees it
    for table, column, value in cells:
        allowed = card_needles() if (table, column) in AGENT_VIEW else raw_needles()
        found = [needle for needle in allowed if needle in value]
        assert found == [], f"{table}.{column} holds {found}: {value[:200]!r}"
