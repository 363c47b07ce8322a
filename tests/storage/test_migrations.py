"""Migrations: a database of release 07680ed keeps every row and reaches the current schema; a
new one is built to match ``storage.sql.schema``; upgrades are idempotent and safe to race.

SQLite always runs; PostgreSQL runs when ``EARSHOT_TEST_DATABASE_URL`` points at a server, and
then each test gets a throwaway database (``earshot_mig_<random>``), dropped afterwards.

Downgrades are not supported (a failed upgrade rolls back; otherwise restore a backup), so
none is tested.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.errors import MigrationError
from core.models import Enrichment
from search import sql as search_sql
from storage.migrate import BASELINE, current_revision, head_revision, upgrade
from storage.sql.schema import metadata

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get("EARSHOT_TEST_DATABASE_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="EARSHOT_TEST_DATABASE_URL is not set"),
    ),
]

FTS_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
)


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database; on SQLite in a folder that does not exist yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'earshot.db'}"
        return
    assert POSTGRES_URL is not None
    name = f"earshot_mig_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def dialect_of(url: str) -> str:
    return sa.make_url(url).get_backend_name()


def hashed_rowid(post_id: str) -> int:
    """The ``search_fts`` rowid that revisions 0002 to 0010 gave a post: a 63-bit hash."""
    digest = hashlib.blake2b(post_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def create_release_database(url: str, *, without: tuple[str, ...] = ()) -> None:
    """Run release 07680ed's DDL (tests/storage/data), leaving out the tables ``without``."""
    ddl = (DATA / f"schema_07680ed_{dialect_of(url)}.sql").read_text(encoding="utf-8")
    lines = [line for line in ddl.splitlines() if not line.startswith("--")]
    statements = [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]
    skipped = [s for s in statements if any(re.search(rf"\b(TABLE|ON) {t}\b", s) for t in without)]
    assert sum(s.startswith("CREATE TABLE") for s in skipped) == len(without)
    with engine_for(url) as engine, engine.begin() as connection:
        for statement in statements:
            if statement not in skipped:
                connection.exec_driver_sql(statement.rstrip(";"))


def table_names(url: str) -> set[str]:
    with engine_for(url) as engine:
        return set(sa.inspect(engine).get_table_names())


# -- release 07680ed's tables and rows, written by hand ------------------------------------------


def release_table(name: str, **types: Any) -> sa.TableClause:
    return sa.table(name, *(sa.column(column, type_) for column, type_ in types.items()))


Str, Txt, Int, Bool, Json, Time, Bin = (
    sa.String, sa.Text, sa.Integer, sa.Boolean, sa.JSON, sa.DateTime, sa.LargeBinary
)  # fmt: skip
# fmt: off
RELEASE = {
    "posts": release_table(
        "posts", id=Str, source=Str, url=Txt, author_id=Str, author_handle=Str,
        author_name=Txt, author_followers=Int, author_verified=Bool, title=Txt, text=Txt,
        language=Str, created_at=Time, conversation_id=Str, in_reply_to_id=Str, metrics=Json,
        first_seen_at=Time,
    ),
    "enrichments": release_table(
        "enrichments", post_id=Str, sentiment=Str, intent=Str, move_private=Bool, spam=Bool,
        language=Str, data=Json, updated_at=Time,
    ),
    "queue_items": release_table(
        "queue_items", post_id=Str, queue=Str, priority=Int, action=Str, rule=Str, status=Str,
        decided_at=Time, sla_due=Time, updated_at=Time,
    ),
    "cursors": release_table("cursors", source=Str, value=Json, updated_at=Time),
    "dead_letters": release_table(
        "dead_letters", id=Int, fingerprint=Str, source=Str, location=Txt, error=Txt,
        payload=Bin, created_at=Time,
    ),
    "batches": release_table(
        "batches", batch_id=Str, run_id=Str, source=Str, stage=Str, pending_cursor=Json,
        counts=Json, created_at=Time, updated_at=Time,
    ),
    "batch_posts": release_table(
        "batch_posts", batch_id=Str, post_id=Str, position=Int, post=Json, enrichment=Json
    ),
    "removals": release_table(
        "removals", id=Int, post_id=Str, source=Str, reason=Txt, removed_at=Time
    ),
    "feedback": release_table(
        "feedback", post_id=Str, task=Str, label=Str, text=Txt, created_at=Time
    ),
    "runs": release_table("runs", run_id=Str, started_at=Time, finished_at=Time, summary=Json),
    "post_search": release_table("post_search", post_id=Str, text=Txt),
}
# fmt: on
KEYS = {
    "posts": ("id",),
    "enrichments": ("post_id",),
    "queue_items": ("post_id",),
    "cursors": ("source",),
    "dead_letters": ("id",),
    "batches": ("batch_id",),
    "batch_posts": ("batch_id", "post_id"),
    "removals": ("id",),
    "feedback": ("post_id", "task"),
    "runs": ("run_id",),
}

T0 = datetime(2026, 11, 2, 9, 30)  # stored as naive UTC, as release 07680ed did


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes, microseconds=minutes * 1001)


POSTS: list[dict[str, Any]] = [
    {
        "id": "reddit:t3_1abc",
        "source": "reddit",
        "url": "https://www.reddit.com/r/shop/comments/1abc/",
        "author_id": "reddit:t2_9zz",
        "author_handle": "late_parcel",
        "author_name": "late_parcel",
        "author_followers": 0,
        "author_verified": False,
        "title": "Pedido não chegou",
        "text": "Três semanas e nada. Order #55812 still not delivered ☹️",
        "language": None,
        "created_at": at(1),
        "conversation_id": "reddit:t3_1abc",
        "in_reply_to_id": None,
        "metrics": {"score": 12, "num_comments": 3},
        "first_seen_at": at(5),
    },
    {
        "id": "x:1985000000000000001",
        "source": "x",
        "url": "https://x.com/ana/status/1985000000000000001",
        "author_id": "x:111",
        "author_handle": "ana",
        "author_name": "Ana Lima",
        "author_followers": 1234,
        "author_verified": False,
        "title": None,
        "text": "Charged twice on card 4111 **** **** 1111, email me at ana@example.com",
        "language": "en",
        "created_at": at(0),
        "conversation_id": "x:1985000000000000001",
        "in_reply_to_id": None,
        "metrics": {"like_count": 3, "retweet_count": 0},
        "first_seen_at": at(4),
    },
    {
        "id": "x:1985000000000000002",
        "source": "x",
        "url": "https://x.com/shopco/status/1985000000000000002",
        "author_id": "x:222",
        "author_handle": "shopco",
        "author_name": "Shop Co",
        "author_followers": 98000,
        "author_verified": True,
        "title": None,
        "text": "@ana sorry about that, we are on it",
        "language": "en",
        "created_at": at(2),
        "conversation_id": "x:1985000000000000001",
        "in_reply_to_id": "x:1985000000000000001",
        "metrics": {},
        "first_seen_at": at(6),
    },
    {
        "id": "x:1985000000000000003",
        "source": "x",
        "url": "https://x.com/bot/status/1985000000000000003",
        "author_id": "x:333",
        "author_handle": "bot",
        "author_name": "Free Stuff",
        "author_followers": 5,
        "author_verified": False,
        "title": None,
        "text": "WIN a free phone!!! click here",
        "language": "en",
        "created_at": at(3),
        "conversation_id": None,
        "in_reply_to_id": None,
        "metrics": {"like_count": 0},
        "first_seen_at": at(7),
    },
]


def old_enrichment(post_id: str, **overrides: Any) -> dict[str, Any]:
    """An enrichment as release 07680ed stored it (Enrichment.to_dict of that release)."""
    data: dict[str, Any] = {
        "post_id": post_id,
        "sentiment": {"label": "negative", "score": 0.9123, "classifier": "sentiment.minilm.v1"},
        "intent": {"label": "billing", "score": 0.8051, "classifier": "intent.minilm.v1"},
        "private": {
            "move_private": True,
            "score": 0.97,
            "reasons": ["card number in post", "email address in post"],
            "classifier": "private.rules.v1",
        },
        "pii": [
            {"type": "card", "start": 16, "end": 35},
            {"type": "email", "start": 49, "end": 64},
        ],
        "pii_classifier": "pii.spacy.v1",
        "language": {"label": "en", "score": 0.99, "classifier": "language.lingua.v1"},
        "spam": {"label": "ham", "score": 0.98, "classifier": "spam.rules.v2"},
        "redacted_text": "Charged twice on card [CARD], email me at [EMAIL]",
    }
    data.update(overrides)
    return data


OLD_ENRICHMENTS = {
    "x:1985000000000000001": old_enrichment("x:1985000000000000001"),
    "x:1985000000000000003": old_enrichment(
        "x:1985000000000000003",
        sentiment={"label": "positive", "score": 0.61, "classifier": "sentiment.vader.v1"},
        intent={"label": "other", "score": 0.3, "classifier": "intent.rules.v1"},
        private={
            "move_private": False,
            "score": 0.0,
            "reasons": [],
            "classifier": "private.rules.v1",
        },
        pii=[],
        pii_classifier="pii.regex.v1",
        spam={"label": "spam", "score": 1.0, "classifier": "spam.rules.v2"},
        redacted_text="WIN a free phone!!! click here",
    ),
    "reddit:t3_1abc": old_enrichment(
        "reddit:t3_1abc",
        intent={"label": "delivery", "score": 0.7712, "classifier": "intent.minilm.v1"},
        private={
            "move_private": True,
            "score": 0.6,
            "reasons": ["order number in post"],
            "classifier": "private.rules.v1",
        },
        pii=[{"type": "order_id", "start": 25, "end": 31}],
        language={"label": "pt", "score": 0.87, "classifier": "language.lingua.v1"},
        redacted_text="Três semanas e nada. Order #[ORDER] still not delivered ☹️",
    ),
}

# What the migration must make of the first one: exactly core.models.Enrichment.to_dict().
NEW_ENRICHMENT = {
    "post_id": "x:1985000000000000001",
    "results": {
        "intent": {
            "kind": "label",
            "label": "billing",
            "score": 0.8051,
            "classifier": "intent.minilm.v1",
        },
        "language": {
            "kind": "label",
            "label": "en",
            "score": 0.99,
            "classifier": "language.lingua.v1",
        },
        "pii": {
            "kind": "pii",
            "spans": [
                {"type": "card", "start": 16, "end": 35},
                {"type": "email", "start": 49, "end": 64},
            ],
            "classifier": "pii.spacy.v1",
        },
        "private": {
            "kind": "private",
            "move_private": True,
            "score": 0.97,
            "reasons": ["card number in post", "email address in post"],
            "classifier": "private.rules.v1",
        },
        "sentiment": {
            "kind": "label",
            "label": "negative",
            "score": 0.9123,
            "classifier": "sentiment.minilm.v1",
        },
        "spam": {"kind": "label", "label": "ham", "score": 0.98, "classifier": "spam.rules.v2"},
    },
    "redacted_text": "Charged twice on card [CARD], email me at [EMAIL]",
}


def release_rows() -> dict[str, list[dict[str, Any]]]:
    """A few rows in every table of release 07680ed."""
    by_id = {p["id"]: p for p in POSTS}

    def post_json(post_id: str) -> dict[str, Any]:
        p = by_id[post_id]
        return {
            "id": p["id"],
            "source": p["source"],
            "url": p["url"],
            "author": {
                "id": p["author_id"],
                "handle": p["author_handle"],
                "display_name": p["author_name"],
                "followers": p["author_followers"],
                "verified": p["author_verified"],
            },
            "text": p["text"],
            "created_at": p["created_at"].isoformat() + "Z",
            "language": p["language"],
            "conversation_id": p["conversation_id"],
            "in_reply_to_id": p["in_reply_to_id"],
            "metrics": p["metrics"],
            "title": p["title"],
        }

    return {
        "posts": POSTS,
        "enrichments": [
            {
                "post_id": post_id,
                "sentiment": data["sentiment"]["label"],
                "intent": data["intent"]["label"],
                "move_private": data["private"]["move_private"],
                "spam": data["spam"]["label"] == "spam",
                "language": data["language"]["label"],
                "data": data,
                "updated_at": at(10 + i),
            }
            for i, (post_id, data) in enumerate(OLD_ENRICHMENTS.items())
        ],
        "queue_items": [
            {
                "post_id": "x:1985000000000000001",
                "queue": "billing",
                "priority": 80,
                "action": "move_private",
                "rule": "billing-private",
                "status": "claimed",
                "decided_at": at(11),
                "sla_due": at(71),
                "updated_at": at(20),
            },
            {
                "post_id": "reddit:t3_1abc",
                "queue": "unmatched",
                "priority": 10,
                "action": "no_action",
                "rule": "fallback",
                "status": "new",
                "decided_at": at(12),
                "sla_due": None,
                "updated_at": at(12),
            },
        ],
        "cursors": [
            {
                "source": "reddit_live",
                "value": {"after_created_utc": 1793611800.0, "seen": ["t3_1abc"]},
                "updated_at": at(30),
            },
            {
                "source": "x_live",
                "value": {"since_id": "1985000000000000003"},
                "updated_at": at(31),
            },
        ],
        "dead_letters": [
            {
                "id": 1,
                "fingerprint": "0f" * 32,
                "source": "x_samples",
                "location": "samples/x/broken.jsonl:7",
                "error": "RecordError: missing field 'author_id'",
                "payload": b'{"id": "19", "text": "caf\xc3\xa9"',
                "created_at": at(40),
            },
            {
                "id": 2,
                "fingerprint": "a1" * 32,
                "source": "reddit_samples",
                "location": "samples/reddit/bad.jsonl:1",
                "error": "RecordError: not JSON",
                "payload": bytes(range(256)),
                "created_at": at(41),
            },
        ],
        "batches": [
            {
                "batch_id": "run-1:x_live",
                "run_id": "run-1",
                "source": "x_live",
                "stage": "enriched",
                "pending_cursor": {"since_id": "1985000000000000003"},
                "counts": {"fetched": 3, "new": 2},
                "created_at": at(50),
                "updated_at": at(51),
            },
            {
                "batch_id": "run-1:reddit_live",
                "run_id": "run-1",
                "source": "reddit_live",
                "stage": "collected",
                "pending_cursor": None,
                "counts": {},
                "created_at": at(52),
                "updated_at": at(52),
            },
        ],
        "batch_posts": [
            {
                "batch_id": "run-1:x_live",
                "post_id": "x:1985000000000000001",
                "position": 0,
                "post": post_json("x:1985000000000000001"),
                "enrichment": OLD_ENRICHMENTS["x:1985000000000000001"],
            },
            {
                "batch_id": "run-1:x_live",
                "post_id": "x:1985000000000000003",
                "position": 1,
                "post": post_json("x:1985000000000000003"),
                "enrichment": OLD_ENRICHMENTS["x:1985000000000000003"],
            },
            {
                "batch_id": "run-1:reddit_live",
                "post_id": "reddit:t3_1abc",
                "position": 0,
                "post": post_json("reddit:t3_1abc"),
                "enrichment": None,
            },
        ],
        "removals": [
            {
                "id": 1,
                "post_id": "x:1984000000000000009",
                "source": "x_live",
                "reason": "deleted by author",
                "removed_at": at(60),
            },
        ],
        "feedback": [
            {
                "post_id": "x:1985000000000000001",
                "task": "intent",
                "label": "billing",
                "text": POSTS[1]["text"],
                "created_at": at(61),
            },
            {
                "post_id": "x:1985000000000000001",
                "task": "sentiment",
                "label": "negative",
                "text": POSTS[1]["text"],
                "created_at": at(62),
            },
        ],
        "runs": [
            {
                "run_id": "run-0",
                "started_at": at(-60),
                "finished_at": at(-59),
                "summary": {"posts": 0, "errors": []},
            },
            {"run_id": "run-1", "started_at": at(49), "finished_at": None, "summary": None},
        ],
        "post_search": [
            {"post_id": data["post_id"], "text": data["redacted_text"]}
            for data in OLD_ENRICHMENTS.values()
        ],
    }


def in_key_order(name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: [row[key] for key in KEYS[name]])


def fill_release_database(url: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine_for(url) as engine, engine.begin() as connection:
        for name, table_rows in rows.items():
            connection.execute(RELEASE[name].insert(), table_rows)


def read_rows(url: str, name: str, **added: Any) -> list[dict[str, Any]]:
    """Every row of a release table (plus the columns ``added`` since), in key order."""
    columns = {c.name: c.type for c in RELEASE[name].c} | added
    table = release_table(name, **columns)
    query = sa.select(table).order_by(*(table.c[k] for k in KEYS[name]))
    with engine_for(url) as engine, engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


# -- schema comparisons --------------------------------------------------------------------------


def ignore_search_structures(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """SQLAlchemy cannot describe these; the migrations make them with raw DDL (checked apart)."""
    if type_ == "table" and name is not None and name.startswith("search_fts"):
        return False  # SQLite: the FTS5 table and its shadow tables
    if type_ == "column" and obj.table.name == "search_documents":
        # PostgreSQL: the generated tsvector; SQLite: each document's row in search_fts
        return name not in ("tsv", "fts_rowid")
    return name not in ("search_documents_tsv", "search_documents_fts_rowid")  # their indexes


def database_metadata() -> sa.MetaData:
    """Every table Earshot keeps in the store's database: the store's and the search index's."""
    combined = sa.MetaData()
    for table in [*metadata.tables.values(), search_sql.DOCUMENTS]:
        table.to_metadata(combined)
    return combined


def schema_differences(url: str) -> list[Any]:
    with engine_for(url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": ignore_search_structures},
        )
        return compare_metadata(context, database_metadata())


def assert_search_structures(url: str) -> None:
    with engine_for(url) as engine, engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert "post_search" not in tables
        assert {"search_documents", "index_outbox", "queue_events"} <= tables
        if dialect_of(url) == "sqlite":
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'search_fts'"
            ).scalar_one()
            assert sql == FTS_DDL
            connection.exec_driver_sql(
                "INSERT INTO search_fts (rowid, text) VALUES (7, 'Pedido não chegou')"
            )
            found = connection.exec_driver_sql(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH 'nao'"
            ).all()
            assert found == [(7,)]  # remove_diacritics 2
            connection.rollback()
        else:
            columns = {c["name"]: c for c in sa.inspect(connection).get_columns("search_documents")}
            assert str(columns["tsv"]["type"]) == "TSVECTOR"
            assert columns["tsv"]["computed"]["persisted"] is True
            assert "to_tsvector('simple'" in columns["tsv"]["computed"]["sqltext"]
            indexes = {i["name"]: i for i in sa.inspect(connection).get_indexes("search_documents")}
            assert indexes["search_documents_tsv"]["column_names"] == ["tsv"]
            assert indexes["search_documents_tsv"]["dialect_options"]["postgresql_using"] == "gin"


def describe(url: str) -> dict[str, Any]:
    """Tables, columns (type, nullability, default, generated), keys and indexes, as reflected;
    on SQLite also each object's DDL (whitespace-normalized)."""
    with engine_for(url) as engine, engine.connect() as connection:
        inspector = sa.inspect(connection)
        tables = sorted(n for n in inspector.get_table_names() if n != "alembic_version")
        result: dict[str, Any] = {}
        for name in tables:
            if name.startswith("post_search_"):
                continue  # FTS5 shadow tables: compared through the DDL below
            result[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("computed"))
                    for c in inspector.get_columns(name)
                ],
                "pk": inspector.get_pk_constraint(name)["constrained_columns"],
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                ),
                "indexes": sorted(
                    (
                        i["name"],
                        tuple(i["column_names"]),
                        bool(i["unique"]),
                        str(i.get("dialect_options")),
                    )
                    for i in inspector.get_indexes(name)
                ),
            }
        if dialect_of(url) == "sqlite":
            result["sqlite_master"] = sorted(
                (kind, name, " ".join(sql.replace("IF NOT EXISTS ", "").split()))
                for kind, name, sql in connection.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master"
                    " WHERE sql IS NOT NULL AND name != 'alembic_version'"
                )
            )
        return result


# -- tests ---------------------------------------------------------------------------------------


def test_migrations_upgrade_release_07680ed_database_keeps_every_row(url: str) -> None:
    create_release_database(url)
    rows = release_rows()
    fill_release_database(url, rows)
    assert current_revision(url) is None

    before = datetime.now(UTC).replace(tzinfo=None)
    assert upgrade(url) == head_revision()
    assert current_revision(url) == head_revision()

    # Every row of every kept table is there, with the same values.
    for name in ("posts", "cursors", "dead_letters", "batches", "removals", "feedback", "runs"):
        assert read_rows(url, name) == in_key_order(name, rows[name]), name
    queue_items = read_rows(url, "queue_items", assignee=Str)
    assert queue_items == sorted(
        ({**row, "assignee": None} for row in rows["queue_items"]), key=lambda r: r["post_id"]
    )
    enrichments = read_rows(url, "enrichments")
    assert [{**e, "data": None} for e in enrichments] == sorted(
        ({**row, "data": None} for row in rows["enrichments"]), key=lambda r: r["post_id"]
    )
    batch_posts = read_rows(url, "batch_posts")
    assert [{**b, "enrichment": None} for b in batch_posts] == sorted(
        ({**row, "enrichment": None} for row in rows["batch_posts"]),
        key=lambda r: (r["batch_id"], r["post_id"]),
    )

    # Enrichments (stored and staged) are in the per-task format the current code reads.
    converted = {e["post_id"]: e["data"] for e in enrichments}
    assert converted["x:1985000000000000001"] == NEW_ENRICHMENT
    staged = {b["post_id"]: b["enrichment"] for b in batch_posts}
    assert staged["reddit:t3_1abc"] is None
    assert staged["x:1985000000000000001"] == NEW_ENRICHMENT
    for post_id, old in OLD_ENRICHMENTS.items():
        for new in [converted[post_id], *([staged[post_id]] if staged.get(post_id) else [])]:
            assert_same_enrichment(old, new)

    # Every post is queued for the search index; post_search is gone, the new index is there.
    with engine_for(url) as engine, engine.connect() as connection:
        outbox: Sequence[Any] = connection.execute(
            sa.select(sa.column("post_id"), sa.column("op"), sa.column("created_at", sa.DateTime))
            .select_from(sa.table("index_outbox"))
            .order_by(sa.column("id"))
        ).all()
        documents = connection.execute(sa.text("SELECT count(*) FROM search_documents")).scalar()
    assert sorted(post_id for post_id, _, _ in outbox) == sorted(p["id"] for p in POSTS)
    assert {op for _, op, _ in outbox} == {"upsert"}
    assert all(
        before - timedelta(seconds=5) <= t <= before + timedelta(minutes=5) for *_, t in outbox
    )
    assert documents == 0
    assert_search_structures(url)
    assert schema_differences(url) == []


def assert_same_enrichment(old: dict[str, Any], new: dict[str, Any]) -> None:
    assert list(new) == ["post_id", "results", "redacted_text"]
    assert list(new["results"]) == sorted(new["results"])
    enrichment = Enrichment.from_dict(new)
    assert json.dumps(enrichment.to_dict()) == json.dumps(new)  # byte for byte, key order too
    assert enrichment.post_id == old["post_id"]
    assert enrichment.redacted_text == old["redacted_text"]
    for task in ("sentiment", "intent", "language", "spam"):
        label = enrichment.label(task)
        assert (label.label, label.score, label.classifier) == (
            old[task]["label"],
            old[task]["score"],
            old[task]["classifier"],
        )
    private = enrichment.private
    assert (private.move_private, private.score, list(private.reasons), private.classifier) == (
        old["private"]["move_private"],
        old["private"]["score"],
        old["private"]["reasons"],
        old["private"]["classifier"],
    )
    assert [asdict(span) for span in enrichment.pii] == old["pii"]
    assert enrichment.result("pii").classifier == old["pii_classifier"]
    assert enrichment.is_spam == (old["spam"]["label"] == "spam")


def test_migrations_fresh_database_matches_schema_module(url: str) -> None:
    assert current_revision(url) is None
    assert upgrade(url) == head_revision()
    assert current_revision(url) == head_revision()
    assert schema_differences(url) == []
    assert_search_structures(url)
    if dialect_of(url) == "sqlite":  # in a folder that did not exist, in WAL mode
        with engine_for(url) as engine, engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_migrations_current_revision_of_empty_database_is_none(url: str) -> None:
    assert current_revision(url) is None
    if dialect_of(url) == "sqlite":
        assert not Path(sa.make_url(url).database or "").exists()  # asking creates nothing
    else:
        assert table_names(url) == set()


def test_migrations_baseline_is_release_07680ed_schema(url: str, tmp_path: Path) -> None:
    """Revision 1 builds exactly what release 07680ed's create_schema() built."""
    assert upgrade(url, revision=BASELINE) == BASELINE
    if dialect_of(url) == "sqlite":
        release_url = f"sqlite:///{tmp_path / 'release.db'}"
        create_release_database(release_url)
        assert describe(url) == describe(release_url)
    else:
        migrated = describe(url)
        with engine_for(url) as engine, engine.begin() as connection:
            for name in [*RELEASE, "alembic_version"]:
                connection.exec_driver_sql(f'DROP TABLE "{name}"')
        create_release_database(url)
        assert describe(url) == migrated


def test_migrations_upgrade_is_idempotent(url: str) -> None:
    create_release_database(url)
    fill_release_database(url, release_rows())
    head = upgrade(url)

    def snapshot() -> dict[str, Any]:
        order = {
            "alembic_version": "1",
            "index_outbox": "1",
            "enrichments": "1",
            "batch_posts": "1, 2",
            "queue_items": "1",
            "search_documents": "1",
        }
        with engine_for(url) as engine, engine.connect() as connection:
            return {
                name: connection.exec_driver_sql(f"SELECT * FROM {name} ORDER BY {by}").all()
                for name, by in order.items()
            }

    before = snapshot()
    assert upgrade(url) == head
    assert upgrade(url, revision=head) == head
    assert snapshot() == before
    assert schema_differences(url) == []


WORKER = """
import sys, time
from pathlib import Path
from storage.migrate import upgrade
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
ready.touch()
while not go.exists():
    time.sleep(0.001)
print(upgrade(url))
"""


def test_migrations_concurrent_upgrades_of_new_database(url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(flag), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()  # both have imported everything: they start upgrading at the same moment
        results = [worker.communicate(timeout=120) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (out, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == head_revision()
    with engine_for(url) as engine, engine.connect() as connection:
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    assert versions == [(head_revision(),)]
    assert schema_differences(url) == []
    assert_search_structures(url)


def test_migrations_upgrade_database_older_than_release_07680ed(url: str) -> None:
    """Commits before 07680ed lacked ``removals`` and ``feedback``: they are added."""
    create_release_database(url, without=("removals", "feedback"))
    assert upgrade(url) == head_revision()
    assert schema_differences(url) == []
    assert_search_structures(url)


def test_migrations_convert_enrichments_in_chunks(url: str) -> None:
    create_release_database(url)
    count = 1203  # more than two chunks of 500
    post = POSTS[1]
    ids = [f"x:{i:06d}" for i in range(count)]
    with engine_for(url) as engine, engine.begin() as connection:
        connection.execute(RELEASE["posts"].insert(), [{**post, "id": i} for i in ids])
        connection.execute(
            RELEASE["enrichments"].insert(),
            [
                {
                    "post_id": i,
                    "sentiment": "negative",
                    "intent": "billing",
                    "move_private": True,
                    "spam": False,
                    "language": "en",
                    "data": old_enrichment(i),
                    "updated_at": T0,
                }
                for i in ids
            ],
        )
        connection.execute(
            RELEASE["batch_posts"].insert(),
            [
                {
                    "batch_id": f"b{n % 3}",
                    "post_id": i,
                    "position": n,
                    "post": {},
                    "enrichment": old_enrichment(i),
                }
                for n, i in enumerate(ids)
            ],
        )
    upgrade(url)
    with engine_for(url) as engine, engine.connect() as connection:
        stored = connection.execute(sa.select(RELEASE["enrichments"].c.data)).scalars().all()
        staged = connection.execute(sa.select(RELEASE["batch_posts"].c.enrichment)).scalars().all()
        queued = connection.execute(
            sa.text("SELECT count(DISTINCT post_id) FROM index_outbox")
        ).scalar()
    assert len(stored) == len(staged) == count
    for data in [*stored, *staged]:
        assert Enrichment.from_dict(data).to_dict() == {
            **NEW_ENRICHMENT,
            "post_id": data["post_id"],
        }
    assert queued == count


def test_migrations_refuse_unversioned_database_of_unknown_schema(url: str) -> None:
    """Earshot tables of a later schema but no alembic_version: no guessing, nothing changed."""
    with engine_for(url) as engine:
        metadata.create_all(engine)
    with pytest.raises(MigrationError, match="revision cannot be told") as caught:
        upgrade(url)
    assert "'head'" in str(caught.value)
    assert "alembic_version" not in table_names(url)


def test_migrations_failed_upgrade_changes_nothing(url: str) -> None:
    """The whole upgrade is one transaction: DDL included, it all rolls back."""
    create_release_database(url)
    rows = release_rows()
    rows["enrichments"][0]["data"] = {"post_id": rows["enrichments"][0]["post_id"], "flat": 1}
    fill_release_database(url, rows)
    before = describe(url)
    with pytest.raises(MigrationError, match="not an enrichment of release 07680ed") as caught:
        upgrade(url)
    assert "enrichments row 'x:1985000000000000001'" in str(caught.value)
    assert current_revision(url) is None
    assert describe(url) == before
    assert read_rows(url, "posts") == sorted(POSTS, key=lambda p: p["id"])


def test_migrations_failure_names_database_and_revision(url: str) -> None:
    with pytest.raises(MigrationError) as caught:
        upgrade(url, revision="9999_unknown")
    message = str(caught.value)
    assert "'9999_unknown'" in message
    assert sa.make_url(url).render_as_string(hide_password=True) in message
    assert current_revision(url) is None  # the failed upgrade rolled back


def test_migrations_refuse_database_of_a_newer_earshot(url: str) -> None:
    upgrade(url)
    with engine_for(url) as engine, engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_future'")
    with pytest.raises(
        MigrationError, match="'9999_from_future', which this Earshot does not know"
    ):
        upgrade(url)
    assert current_revision(url) == "9999_from_future"


def test_migrations_failure_hides_the_password() -> None:
    # Nothing listens on port 1: connecting fails at once.
    url = "postgresql+psycopg://earshot:s3cret-pw@127.0.0.1:1/earshot?connect_timeout=5"
    with pytest.raises(MigrationError) as caught:
        upgrade(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message
    assert "postgresql+psycopg://earshot:***@127.0.0.1:1/earshot?connect_timeout=5" in message
    assert "'head'" in message


def test_migrations_0003_folds_existing_search_documents(url: str) -> None:
    """Documents indexed before 0003 (PostgreSQL: accent-sensitive ``tsv``) are found without
    their accents after it, on both databases."""
    from search import SearchQuery, SqlSearchIndex
    from storage.sql.database import open_engine

    upgrade(url, revision="0002_search_index_outbox")
    row = {
        "post_id": "x:1",
        "source": "x",
        "author_id": "x:9",
        "author_handle": "ana",
        "pii_types": "[]",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None),
        "text": "Crème brûlée at the Café",
    }
    with engine_for(url) as engine, engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO search_documents (post_id, source, author_id, author_handle,"
                " pii_types, created_at, text) VALUES (:post_id, :source, :author_id,"
                " :author_handle, :pii_types, :created_at, :text)"
            ),
            row,
        )
        if dialect_of(url) == "sqlite":
            connection.execute(
                sa.text("INSERT INTO search_fts (rowid, post_id, text) VALUES (:r, :p, :t)"),
                {"r": hashed_rowid("x:1"), "p": "x:1", "t": row["text"]},
            )
    assert upgrade(url) == head_revision()
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            folded = connection.execute(sa.text("SELECT search_text FROM search_documents"))
            assert folded.scalar_one() == "creme brulee at the cafe"
        index = SqlSearchIndex(engine)
        assert [h.document.post_id for h in index.search(SearchQuery(text="CREME cafe"))] == ["x:1"]
    finally:
        engine.dispose()


def test_migrations_0011_numbers_the_search_rows_in_order(url: str) -> None:
    """Documents indexed under hashed rowids are found after 0011, keep their new numbers when
    indexed again, and new documents take the next ones."""
    from search import SearchQuery, SqlSearchIndex
    from storage.sql.database import open_engine
    from tests.search.test_contract import doc

    upgrade(url, revision="0010_console_indexes")
    written = datetime(2026, 11, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine_for(url) as engine, engine.begin() as connection:
        for post_id, text in (("x:2", "Parcel lost again"), ("x:1", "Refund still missing")):
            connection.execute(
                sa.text(
                    "INSERT INTO search_documents (post_id, source, author_id, author_handle,"
                    " pii_types, created_at, text, search_text) VALUES (:post_id, 'x', 'x:9',"
                    " 'ana', '[]', :at, :text, :folded)"
                ),
                {"post_id": post_id, "at": written, "text": text, "folded": text.lower()},
            )
            if dialect_of(url) == "sqlite":
                connection.execute(
                    sa.text("INSERT INTO search_fts (rowid, post_id, text) VALUES (:r, :p, :t)"),
                    {"r": hashed_rowid(post_id), "p": post_id, "t": text.lower()},
                )
    assert upgrade(url) == head_revision()
    assert schema_differences(url) == []
    engine = open_engine(url)
    try:
        index = SqlSearchIndex(engine)

        def found(words: str) -> list[str]:
            return sorted(h.document.post_id for h in index.search(SearchQuery(text=words)))

        assert found("parcel") == ["x:2"] and found("refund missing") == ["x:1"]
        index.index([doc("x:3", "Parcel found"), doc("x:1", "Refund arrived")])
        assert found("parcel") == ["x:2", "x:3"]
        assert found("refund") == ["x:1"] and found("missing") == []
        if dialect_of(url) == "sqlite":
            with engine.connect() as connection:
                query = sa.text("SELECT post_id, fts_rowid FROM search_documents")
                rowids = {post_id: rowid for post_id, rowid in connection.execute(query)}
                fts = connection.execute(sa.text("SELECT count(*) FROM search_fts")).scalar_one()
            assert rowids == {"x:2": 1, "x:1": 2, "x:3": 3}  # in the order they were written
            assert fts == 3
    finally:
        engine.dispose()


def test_migrations_0005_opens_a_case_for_every_waiting_item(url: str) -> None:
    """Items waiting for an agent before cases existed keep showing in the agents' lists."""
    from storage import SqlStore

    upgrade(url, revision="0004_search_queue_fields")
    posted = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).replace(tzinfo=None)
    with engine_for(url) as engine, engine.begin() as connection:
        for n, status, assignee in (
            (1, "new", None),
            (2, "claimed", "ana"),
            (3, "resolved", "ben"),
        ):
            connection.execute(
                sa.text(
                    "INSERT INTO posts (id, source, url, author_id, author_handle, author_name,"
                    " author_followers, author_verified, text, created_at, metrics, first_seen_at)"
                    " VALUES (:id, 'x', 'u', :author, :handle, 'n', 1, false, 't', :at, '{}', :at)"
                ),
                {"id": f"x:{n}", "author": f"{n}0", "handle": f"User{n}", "at": posted},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO queue_items (post_id, queue, priority, action, rule, status,"
                    " decided_at, sla_due, updated_at, assignee) VALUES (:id, 'billing', 60,"
                    " 'move_private', 'billing-private', :status, :at, :due, :at, :assignee)"
                ),
                {
                    "id": f"x:{n}",
                    "status": status,
                    "at": posted,
                    "due": posted + timedelta(hours=1),
                    "assignee": assignee,
                },
            )
    assert upgrade(url) == head_revision()
    store = SqlStore.open(url)
    try:
        cases = {c.id: c for c in store.cases.list(limit=None)}
        assert sorted(cases) == ["case:x:1", "case:x:2"]  # the resolved item needs no case
        claimed = cases["case:x:2"]
        assert (claimed.status, claimed.assignee, claimed.queue, claimed.priority) == (
            "claimed",
            "ana",
            "billing",
            60,
        )
        assert claimed.opened_at == posted.replace(tzinfo=UTC)
        assert claimed.sla_due == (posted + timedelta(hours=1)).replace(tzinfo=UTC)
        assert (claimed.customer_key, claimed.author_handle) == ("x:20", "User2")
        assert store.cases.members("case:x:1") == [("x:1", "customer")]
        item = store.queues.get("x:1")
        assert item is not None and item.case_id == "case:x:1"
        assert store.cases.find_open("x:1", "x:10") is not None
    finally:
        store.dispose()
