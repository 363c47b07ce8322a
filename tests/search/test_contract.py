"""The search contract: what every search backend does, checked on each of them.

:class:`SearchIndexContract` holds the behaviour; a backend's test class inherits it and
provides two things:

- an ``index`` fixture: an empty :class:`~search.base.SearchIndex` (its writes visible to the
  next read; a near-real-time backend refreshes in the fixture or in its writes);
- every backend is case- and accent-insensitive alike (``cafe`` finds ``café`` and ``à``
  finds ``a``): the documents and the queries are folded by :func:`core.folding.fold`.

The embedded backend runs on SQLite always, and on PostgreSQL when
``EARSHOT_TEST_DATABASE_URL`` names a server (each test class gets a throwaway database
``earshot_search_<random>``, dropped afterwards). The tables are made by the migrations.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.batching import SQL_BATCH
from core.errors import SearchError
from core.folding import fold
from search import (
    FILTER_FIELDS,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    UPDATABLE_FIELDS,
    SearchDocument,
    SearchIndex,
    SearchQuery,
    SqlSearchIndex,
)

POSTGRES_URL = os.environ.get("EARSHOT_TEST_DATABASE_URL")
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def doc(post_id: str, text: str, *, created_at: datetime | None = None, **fields: Any):
    """A document with defaults for the required fields."""
    values: dict[str, Any] = {
        "source": post_id.split(":")[0],
        "author_id": "x:someone",
        "author_handle": "someone",
        "created_at": created_at or T0,
        "text": text,
    }
    values.update(fields)
    return SearchDocument(post_id=post_id, **values)


# Six posts, newest last: enough for every filter to pick a different subset.
CORPUS = [
    doc(
        "x:1",
        "Refund for my double charge please, card ending [CARD]",
        created_at=T0,
        author_id="x:ana",
        author_handle="ana",
        language="en",
        sentiment="negative",
        intent="billing",
        private=True,
        spam=False,
        queue="billing",
        action="move_private",
        status="open",
        pii_types=("email",),
    ),
    doc(
        "x:2",
        "Where is my parcel? Delivery is late again",
        created_at=T0 + timedelta(days=1),
        author_id="x:bo",
        author_handle="bo",
        language="en",
        sentiment="negative",
        intent="delivery",
        private=False,
        spam=False,
        queue="logistics",
        action="reply_public",
        status="open",
    ),
    doc(
        "reddit:3",
        "Love the new app, the refund was quick",
        created_at=T0 + timedelta(days=2),
        author_id="reddit:cy",
        author_handle="cy",
        language="en",
        sentiment="positive",
        intent="praise",
        private=False,
        spam=False,
    ),
    doc(
        "reddit:4",
        "Remboursement du café, écrivez à [EMAIL] ou [PHONE]",
        created_at=T0 + timedelta(days=3),
        author_id="x:ana",
        author_handle="ana",
        language="fr",
        sentiment="negative",
        intent="billing",
        private=True,
        spam=False,
        queue="billing",
        action="move_private",
        status="closed",
        pii_types=("email", "phone"),
    ),
    doc(
        "x:5",
        "Win free crypto now, click here",
        created_at=T0 + timedelta(days=4),
        author_id="x:spammer",
        author_handle="spammer",
        language="en",
        sentiment="neutral",
        intent="other",
        private=False,
        spam=True,
    ),
    doc(
        "x:6",
        "Charged twice, refund my card [CARD] please",
        created_at=T0 + timedelta(days=5),
        author_id="x:bo",
        author_handle="bo",
        language="en",
        sentiment="negative",
        intent="billing",
        private=False,
        spam=False,
        queue="billing",
        action="reply_public",
        status="pending",
        pii_types=("card",),
    ),
]
NEWEST_FIRST = [d.post_id for d in sorted(CORPUS, key=lambda d: d.created_at, reverse=True)]

TEN_KB = MAX_QUERY_CHARS
_rng = random.Random(20261101)
RANDOM_WORDS = " ".join(
    "".join(_rng.choice("abcdefghijklmnopqrstuvwxyzéü") for _ in range(_rng.randint(1, 9)))
    for _ in range(2000)
)[:TEN_KB]

# Hostile texts that hold words: they must not raise, and must not widen the filters.
HOSTILE_WITH_WORDS = [
    pytest.param('"refund', id="open-quote"),
    pytest.param('refund"', id="close-quote"),
    pytest.param('refund" OR "parcel', id="quote-injection"),
    pytest.param("refund*", id="prefix-star"),
    pytest.param("text:refund", id="column-filter"),
    pytest.param("^refund", id="initial-token"),
    pytest.param("(refund", id="open-paren"),
    pytest.param("refund)", id="close-paren"),
    pytest.param("refund AND card", id="and"),
    pytest.param("refund OR parcel", id="or"),
    pytest.param("NOT refund", id="not"),
    pytest.param("NEAR(refund card, 2)", id="near"),
    pytest.param("refund \\ card \\", id="backslashes"),
    pytest.param("-refund", id="leading-minus"),
    pytest.param("refund -card", id="minus"),
    pytest.param("refund & !card | parcel <-> late", id="tsquery-operators"),
    pytest.param("refund:* & card:A", id="tsquery-prefix-weight"),
    pytest.param("'; DROP TABLE search_documents; --", id="sql-injection"),
    pytest.param("\x00refund\x00", id="nul"),
    pytest.param("refund_card foo__bar _x_", id="underscores"),
    pytest.param("%refund% _card_", id="like-wildcards"),
    pytest.param("refund " * (TEN_KB // 7), id="10kb-repeated-word"),
    pytest.param("a" * TEN_KB, id="10kb-one-word"),
    pytest.param("é" * TEN_KB, id="10kb-accented-word"),
    pytest.param(RANDOM_WORDS, id="10kb-random-words"),
    pytest.param("refund" + '"' * (TEN_KB - 6), id="10kb-quotes-after-word"),
]
# Texts without a single word: they match nothing, whatever the index holds.
HOSTILE_WITHOUT_WORDS = [
    pytest.param('"', id="quote"),
    pytest.param('""', id="empty-phrase"),
    pytest.param("*", id="star"),
    pytest.param("^", id="caret"),
    pytest.param("()", id="parens"),
    pytest.param(":", id="colon"),
    pytest.param("\\", id="backslash"),
    pytest.param("-", id="minus"),
    pytest.param("_", id="underscore"),
    pytest.param("?!.,;", id="punctuation"),
    pytest.param("{}[]<>@#$%&|!~`", id="symbols"),
    pytest.param("\x00", id="nul"),
    pytest.param("🔥💳", id="emoji"),
    pytest.param('"' * TEN_KB, id="10kb-quotes"),
    pytest.param("(" * TEN_KB, id="10kb-parens"),
    pytest.param("-*" * (TEN_KB // 2), id="10kb-operators"),
]


def ids(hits: list[Any]) -> list[str]:
    return [h.document.post_id for h in hits]


class SearchIndexContract:
    """Every backend's behaviour. Subclasses provide the ``index`` fixture (an empty index)."""

    @pytest.fixture
    def corpus(self, index: SearchIndex) -> SearchIndex:
        index.index(CORPUS)
        return index

    def found(self, index: SearchIndex, text: str = "", **kwargs: Any) -> list[str]:
        """The post ids a query finds, checking that count agrees with search."""
        query = SearchQuery(text=text, limit=MAX_LIMIT, **kwargs)
        found = ids(index.search(query))
        assert index.count(query) == len(found)
        return found

    # -- writes and reads ------------------------------------------------------------------

    def test_search_name_is_set(self, index: SearchIndex) -> None:
        assert isinstance(index.name, str) and index.name

    def test_search_index_get_round_trip(self, index: SearchIndex) -> None:
        document = CORPUS[3]
        index.index([document])
        got = index.get(document.post_id)
        assert got == document
        assert got is not None
        assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
        assert got.pii_types == ("email", "phone")
        assert isinstance(got.pii_types, tuple)
        assert index.get("x:missing") is None

    def test_search_index_get_round_trips_queue_fields_and_scores(self, index: SearchIndex) -> None:
        document = doc(
            "x:q",
            "where is my parcel",
            priority=72,
            sla_due=datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=2))),
            sentiment_score=0.875,
            intent_score=0.5,
        )
        index.index([document])
        got = index.get("x:q")
        assert got == document
        assert got is not None and got.sla_due is not None
        assert got.sla_due.utcoffset() == timedelta(0)  # stored and returned in UTC

    def test_search_index_get_keeps_empty_and_missing_fields(self, index: SearchIndex) -> None:
        document = doc("x:bare", "nothing else known")
        index.index([document])
        assert index.get("x:bare") == document

    def test_search_index_created_at_is_stored_as_utc(self, index: SearchIndex) -> None:
        paris = timezone(timedelta(hours=1))
        index.index(
            [
                doc("x:aware", "zoned", created_at=datetime(2026, 11, 2, 10, 30, tzinfo=paris)),
                doc("x:naive", "naive", created_at=datetime(2026, 11, 2, 9, 30, 15, 123456)),
            ]
        )
        aware = index.get("x:aware")
        naive = index.get("x:naive")
        assert aware is not None and naive is not None
        assert aware.created_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
        assert aware.created_at.tzinfo == UTC
        assert naive.created_at == datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC)

    def test_search_index_upsert_replaces(self, index: SearchIndex) -> None:
        index.index([doc("x:1", "old words here", intent="billing", pii_types=("email",))])
        index.index([doc("x:1", "new text entirely", intent="delivery")])
        got = index.get("x:1")
        assert got is not None
        assert (got.text, got.intent, got.pii_types) == ("new text entirely", "delivery", ())
        assert self.found(index, "old") == []
        assert self.found(index, "new") == ["x:1"]
        assert self.found(index, filters={"intent": "billing"}) == []
        assert index.count(SearchQuery()) == 1

    def test_search_index_duplicates_last_wins(self, index: SearchIndex) -> None:
        index.index(
            [doc("x:1", "first version"), doc("x:2", "other"), doc("x:1", "second version")]
        )
        got = index.get("x:1")
        assert got is not None and got.text == "second version"
        assert self.found(index, "first") == []
        assert self.found(index, "version") == ["x:1"]
        assert index.count(SearchQuery()) == 2

    def test_search_index_empty_call_is_a_no_op(self, index: SearchIndex) -> None:
        index.index([])
        index.delete([])
        assert index.count(SearchQuery()) == 0

    def test_search_index_many_documents_in_one_call(self, index: SearchIndex) -> None:
        many = SQL_BATCH * 2 + 7
        documents = [
            doc(
                f"x:{i:05d}",
                f"bulk word{i} common",
                created_at=T0 + timedelta(minutes=i),
                queue="even" if i % 2 == 0 else "odd",
            )
            for i in range(many)
        ]
        index.index(documents)
        assert index.count(SearchQuery()) == many
        assert index.count(SearchQuery("common")) == many
        assert index.count(SearchQuery("common", filters={"queue": "odd"})) == many // 2
        assert ids(index.search(SearchQuery("word1001"))) == ["x:01001"]
        index.index(documents)  # again: replaces, adds nothing
        assert index.count(SearchQuery("common")) == many
        index.delete([d.post_id for d in documents[1:]])
        assert ids(index.search(SearchQuery("common"))) == ["x:00000"]

    def test_search_update_queue_and_status(self, corpus: SearchIndex) -> None:
        assert corpus.update("reddit:3", {"queue": "praise", "status": "open"}) is True
        got = corpus.get("reddit:3")
        assert got is not None
        assert (got.queue, got.status, got.action) == ("praise", "open", None)
        assert got.text == CORPUS[2].text and got.created_at == CORPUS[2].created_at
        assert self.found(corpus, filters={"queue": "praise"}) == ["reddit:3"]
        assert self.found(corpus, "love", filters={"status": "open"}) == ["reddit:3"]

    def test_search_update_action_and_clearing(self, corpus: SearchIndex) -> None:
        assert corpus.update("x:1", {"action": "escalate", "queue": None}) is True
        got = corpus.get("x:1")
        assert got is not None and (got.action, got.queue) == ("escalate", None)
        assert "x:1" not in self.found(corpus, filters={"queue": "billing"})
        assert self.found(corpus, "double") == ["x:1"]

    def test_search_update_with_nothing_tells_whether_indexed(self, corpus: SearchIndex) -> None:
        assert corpus.update("x:1", {}) is True
        assert corpus.update("x:missing", {}) is False

    def test_search_update_unknown_id_returns_false(self, corpus: SearchIndex) -> None:
        assert corpus.update("x:missing", {"status": "closed"}) is False
        assert corpus.get("x:missing") is None
        assert corpus.count(SearchQuery()) == len(CORPUS)

    @pytest.mark.parametrize(
        "values",
        [
            {"text": "changed"},
            {"intent": "billing"},
            {"pii_types": ["email"]},
            {"created_at": T0},
            {"status": "open", "post_id": "x:2"},
            {"nonsense": 1},
        ],
        ids=lambda v: "-".join(sorted(v)),
    )
    def test_search_update_of_other_fields_raises(
        self, corpus: SearchIndex, values: dict[str, Any]
    ) -> None:
        with pytest.raises(SearchError, match="cannot update"):
            corpus.update("x:1", values)
        assert corpus.get("x:1") == CORPUS[0]

    def test_search_update_with_a_non_string_value_raises(self, corpus: SearchIndex) -> None:
        with pytest.raises(SearchError, match="expected a string"):
            corpus.update("x:1", {"queue": 5})
        assert corpus.get("x:1") == CORPUS[0]

    def test_search_update_fields_are_the_documented_ones(self) -> None:
        assert set(UPDATABLE_FIELDS) == {"queue", "action", "status"}
        assert set(UPDATABLE_FIELDS) <= set(FILTER_FIELDS)

    def test_search_delete(self, corpus: SearchIndex) -> None:
        corpus.delete(["x:1", "x:6", "x:missing"])
        assert corpus.get("x:1") is None and corpus.get("x:6") is None
        assert self.found(corpus, "refund") == ["reddit:3"]
        assert self.found(corpus, "card") == []
        assert corpus.count(SearchQuery()) == len(CORPUS) - 2
        corpus.delete(["x:1"])  # again: nothing to do
        corpus.index([CORPUS[0]])  # and back
        assert corpus.get("x:1") == CORPUS[0]
        assert self.found(corpus, "card") == ["x:1"]

    # -- text ------------------------------------------------------------------------------

    def test_search_single_word(self, corpus: SearchIndex) -> None:
        assert set(self.found(corpus, "refund")) == {"x:1", "reddit:3", "x:6"}

    def test_search_every_word_must_match(self, corpus: SearchIndex) -> None:
        assert set(self.found(corpus, "refund card")) == {"x:1", "x:6"}
        assert self.found(corpus, "refund card twice") == ["x:6"]
        assert self.found(corpus, "refund parcel") == []

    def test_search_is_case_insensitive(self, corpus: SearchIndex) -> None:
        assert set(self.found(corpus, "REFUND Card")) == {"x:1", "x:6"}

    def test_search_words_are_split_on_punctuation(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, "parcel?delivery!") == ["x:2"]
        assert self.found(corpus, "charged, twice.") == ["x:6"]

    def test_search_redaction_placeholders_are_words(self, corpus: SearchIndex) -> None:
        assert set(self.found(corpus, "[CARD]")) == {"x:1", "x:6"}
        assert self.found(corpus, "email") == ["reddit:4"]

    def test_search_accents(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, "café") == ["reddit:4"]
        assert self.found(corpus, "CAFÉ écrivez") == ["reddit:4"]
        assert self.found(corpus, "cafe ecrivez") == ["reddit:4"]

    def test_search_accents_fold_alike_in_documents_and_queries(self, index: SearchIndex) -> None:
        # The same query gave 100 hits on SQLite and 2 on PostgreSQL before both folded.
        index.index(
            [
                doc("x:1", "rendez-vous à Paris"),
                doc("x:2", "a ticket to Paris"),
                doc("x:3", "Ärger mit der Lieferung"),
                doc("x:4", "Straße gesperrt"),
            ]
        )
        assert self.found(index, "à") == self.found(index, "A") == ["x:1", "x:2"]
        assert self.found(index, "arger") == self.found(index, "ÄRGER") == ["x:3"]
        assert self.found(index, "strasse") == ["x:4"]

    def test_search_whole_words_only(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, "refun") == []
        assert self.found(corpus, "refun*") == []

    def test_search_operators_are_plain_words(self, corpus: SearchIndex) -> None:
        # Were they syntax, each of these would find posts; as words, no post holds them all.
        assert self.found(corpus, "refund OR parcel") == []
        assert self.found(corpus, 'refund" OR "parcel') == []
        assert self.found(corpus, "refund AND card") == []
        assert self.found(corpus, "NOT parcel") == []
        assert self.found(corpus, "NEAR(refund card)") == []
        # A minus excludes nothing, and quotes make no phrase: the words are ANDed.
        assert set(self.found(corpus, "refund -card")) == {"x:1", "x:6"}
        assert set(self.found(corpus, '"card refund"')) == {"x:1", "x:6"}

    def test_search_text_without_words_matches_nothing(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, "?!") == []
        assert self.found(corpus, "?!", filters={"source": "x"}) == []

    def test_search_blank_text_is_no_text(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, "   \t\n") == NEWEST_FIRST

    def test_search_best_match_first(self, index: SearchIndex) -> None:
        index.index(
            [
                doc("x:once", "refund " + " ".join(f"filler{i}" for i in range(30))),
                doc("x:often", "refund refund refund now"),
                doc("x:none", "nothing to see"),
                doc("x:other", "delivery late"),
            ]
        )
        hits = index.search(SearchQuery("refund"))
        assert ids(hits) == ["x:often", "x:once"]
        assert hits[0].score >= hits[1].score

    def test_search_ties_newest_first_then_post_id(self, index: SearchIndex) -> None:
        index.index(
            [
                doc("x:b", "same words here", created_at=T0),
                doc("x:a", "same words here", created_at=T0),
                doc("x:c", "same words here", created_at=T0 + timedelta(hours=1)),
                doc("x:d", "same words here", created_at=T0 - timedelta(hours=1)),
            ]
        )
        hits = index.search(SearchQuery("same words"))
        assert ids(hits) == ["x:c", "x:a", "x:b", "x:d"]
        assert len({h.score for h in hits}) == 1

    def test_search_scores_do_not_increase(self, corpus: SearchIndex) -> None:
        hits = corpus.search(SearchQuery("refund"))
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True)

    # -- filters ---------------------------------------------------------------------------

    def test_search_no_text_lists_newest_first(self, corpus: SearchIndex) -> None:
        assert self.found(corpus) == NEWEST_FIRST
        assert [h.document for h in corpus.search(SearchQuery(limit=MAX_LIMIT))] == sorted(
            CORPUS, key=lambda d: d.created_at, reverse=True
        )

    def test_search_no_text_ties_by_post_id(self, index: SearchIndex) -> None:
        index.index([doc("x:b", "one"), doc("x:c", "two"), doc("x:a", "three")])
        assert self.found(index) == ["x:a", "x:b", "x:c"]

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            ("source", "reddit", ["reddit:4", "reddit:3"]),
            ("author_id", "x:ana", ["reddit:4", "x:1"]),
            ("author_handle", "bo", ["x:6", "x:2"]),
            ("language", "fr", ["reddit:4"]),
            ("sentiment", "positive", ["reddit:3"]),
            ("intent", "billing", ["x:6", "reddit:4", "x:1"]),
            ("private", True, ["reddit:4", "x:1"]),
            ("private", False, ["x:6", "x:5", "reddit:3", "x:2"]),
            ("spam", True, ["x:5"]),
            ("queue", "logistics", ["x:2"]),
            ("action", "move_private", ["reddit:4", "x:1"]),
            ("status", "pending", ["x:6"]),
            ("queue", None, ["x:5", "reddit:3"]),
            ("intent", "nonexistent", []),
        ],
        ids=lambda v: str(v) if not isinstance(v, list) else None,
    )
    def test_search_filter_alone(
        self, corpus: SearchIndex, name: str, value: Any, expected: list[str]
    ) -> None:
        assert self.found(corpus, filters={name: value}) == expected

    def test_search_filter_lists_mean_any_of(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, filters={"intent": ["delivery", "praise"]}) == [
            "reddit:3",
            "x:2",
        ]
        assert self.found(corpus, filters={"status": ("open", "closed")}) == [
            "reddit:4",
            "x:2",
            "x:1",
        ]
        assert self.found(corpus, filters={"queue": ["logistics", None]}) == [
            "x:5",
            "reddit:3",
            "x:2",
        ]
        assert self.found(corpus, filters={"intent": []}) == []

    def test_search_filters_combined(self, corpus: SearchIndex) -> None:
        assert self.found(corpus, filters={"intent": "billing", "private": False}) == ["x:6"]
        assert self.found(
            corpus, filters={"source": "x", "sentiment": "negative", "status": ["open", "pending"]}
        ) == ["x:6", "x:2", "x:1"]
        assert self.found(corpus, filters={"author_id": "x:ana", "language": "en"}) == ["x:1"]
        assert self.found(corpus, filters={"spam": True, "intent": "billing"}) == []

    def test_search_filters_with_text(self, corpus: SearchIndex) -> None:
        assert set(self.found(corpus, "refund", filters={"source": "x"})) == {"x:1", "x:6"}
        assert self.found(corpus, "refund", filters={"private": True}) == ["x:1"]
        assert self.found(corpus, "refund", filters={"pii_types": "card"}) == ["x:6"]
        assert set(self.found(corpus, "refund", created_from=T0 + timedelta(days=2))) == {
            "reddit:3",
            "x:6",
        }

    @pytest.mark.parametrize(
        ("types", "expected"),
        [
            ("email", ["reddit:4", "x:1"]),
            (["email"], ["reddit:4", "x:1"]),
            (["phone"], ["reddit:4"]),
            (["card", "phone"], ["x:6", "reddit:4"]),
            (["iban"], []),
            ([], []),
        ],
        ids=["one", "list-of-one", "second-of-two", "any-of", "none-has-it", "empty-list"],
    )
    def test_search_pii_types_filter(
        self, corpus: SearchIndex, types: Any, expected: list[str]
    ) -> None:
        assert self.found(corpus, filters={"pii_types": types}) == expected

    def test_search_pii_types_is_a_list_not_a_substring(self, index: SearchIndex) -> None:
        index.index([doc("x:1", "a", pii_types=("email_address",)), doc("x:2", "b")])
        assert self.found(index, filters={"pii_types": "email"}) == []
        assert self.found(index, filters={"pii_types": "email_address"}) == ["x:1"]

    def test_search_date_range_bounds(self, corpus: SearchIndex) -> None:
        day = timedelta(days=1)
        # created_from is inclusive, created_to exclusive
        assert self.found(corpus, created_from=T0 + day, created_to=T0 + 3 * day) == [
            "reddit:3",
            "x:2",
        ]
        assert self.found(corpus, created_from=T0 + 5 * day) == ["x:6"]
        assert self.found(corpus, created_to=T0 + day) == ["x:1"]
        assert self.found(corpus, created_to=T0) == []
        assert self.found(corpus, created_from=T0 + day, created_to=T0 + day) == []
        assert self.found(corpus, created_from=T0 + 9 * day) == []

    def test_search_date_range_in_other_zones(self, corpus: SearchIndex) -> None:
        paris = timezone(timedelta(hours=1))
        start = (T0 + timedelta(days=1)).astimezone(paris)  # the same instant as x:2's
        assert self.found(corpus, created_from=start, created_to=start + timedelta(hours=1)) == [
            "x:2"
        ]
        naive = (T0 + timedelta(days=1)).replace(tzinfo=None)  # naive means UTC
        assert self.found(corpus, created_from=naive, created_to=naive + timedelta(seconds=1)) == [
            "x:2"
        ]

    def test_search_limit_offset_count(self, corpus: SearchIndex) -> None:
        assert ids(corpus.search(SearchQuery(limit=2))) == NEWEST_FIRST[:2]
        assert ids(corpus.search(SearchQuery(limit=2, offset=1))) == NEWEST_FIRST[1:3]
        assert ids(corpus.search(SearchQuery(limit=10, offset=4))) == NEWEST_FIRST[4:]
        assert ids(corpus.search(SearchQuery(offset=6))) == []
        assert corpus.count(SearchQuery(limit=1, offset=5)) == len(CORPUS)
        assert corpus.count(SearchQuery("refund", limit=1, offset=2)) == 3
        first = ids(corpus.search(SearchQuery("refund", limit=1)))
        rest = ids(corpus.search(SearchQuery("refund", limit=2, offset=1)))
        assert sorted(first + rest) == sorted(["x:1", "reddit:3", "x:6"])

    def test_search_empty_index(self, index: SearchIndex) -> None:
        assert index.search(SearchQuery()) == []
        assert index.search(SearchQuery("refund", filters={"pii_types": ["email"]})) == []
        assert index.count(SearchQuery()) == 0

    # -- hostile input ---------------------------------------------------------------------

    @pytest.mark.parametrize("hostile", HOSTILE_WITH_WORDS)
    def test_search_hostile_text_stays_within_filters(
        self, corpus: SearchIndex, hostile: str
    ) -> None:
        filters = {"source": "x"}
        allowed = set(self.found(corpus, filters=filters))
        found = self.found(corpus, hostile, filters=filters)
        assert set(found) <= allowed
        assert len(found) == len(set(found))
        assert set(self.found(corpus, hostile)) <= {d.post_id for d in CORPUS}

    @pytest.mark.parametrize("hostile", HOSTILE_WITHOUT_WORDS)
    def test_search_hostile_text_without_words_finds_nothing(
        self, corpus: SearchIndex, hostile: str
    ) -> None:
        assert self.found(corpus, hostile) == []
        assert self.found(corpus, hostile, filters={"source": "x"}) == []

    def test_search_hostile_document_text_round_trips(self, index: SearchIndex) -> None:
        nasty = "a \"quoted\" NEAR(b c) OR d* ^e \\ -f :g (h) 'i' 🔥 " + "z" * 3000
        index.index([doc("x:1", nasty)])
        got = index.get("x:1")
        assert got is not None and got.text == nasty
        assert self.found(index, "quoted near") == ["x:1"]


# -- the SQL backend on each database --------------------------------------------------------


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM search_documents"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("DELETE FROM search_fts"))


def _migrated_engine(url: str) -> Engine:
    from storage.migrate import upgrade

    upgrade(url)
    return create_engine(url)


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite database for this module (each test empties the search tables)."""
    path = tmp_path_factory.mktemp("search") / "earshot.db"
    engine = _migrated_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    """A migrated throwaway PostgreSQL database for this module, dropped afterwards."""
    with _throwaway_postgres() as url:
        engine = _migrated_engine(url)
        yield engine
        engine.dispose()


class TestSqliteSearch(SearchIndexContract):
    @pytest.fixture
    def engine(self, sqlite_engine: Engine) -> Engine:
        return sqlite_engine

    @pytest.fixture
    def index(self, engine: Engine) -> SqlSearchIndex:
        _clear(engine)
        return SqlSearchIndex(engine)

    def test_search_sql_name(self, index: SqlSearchIndex) -> None:
        assert index.name == "sqlite-fts5"

    def test_search_fts_rows_follow_the_documents(
        self, index: SqlSearchIndex, engine: Engine
    ) -> None:
        index.index(CORPUS)
        index.index([doc("x:1", "replaced"), CORPUS[1]])
        index.delete(["x:5"])
        with engine.connect() as conn:
            fts = sorted(
                conn.execute(
                    text(
                        "SELECT d.post_id, f.text FROM search_fts f"
                        " JOIN search_documents d ON d.fts_rowid = f.rowid"
                    )
                ).all()
            )
            documents = sorted(
                conn.execute(text("SELECT post_id, text FROM search_documents")).all()
            )
            rows = conn.execute(text("SELECT count(*) FROM search_fts")).scalar_one()
        assert fts == [(post_id, fold(text)) for post_id, text in documents]
        assert len(fts) == rows == len(CORPUS) - 1

    def test_search_fts_rowids_are_sequential_and_kept_on_reindex(
        self, index: SqlSearchIndex, engine: Engine
    ) -> None:
        def rowids() -> dict[str, int]:
            with engine.connect() as conn:
                query = text("SELECT post_id, fts_rowid FROM search_documents")
                return {post_id: rowid for post_id, rowid in conn.execute(query)}

        index.index([doc("x:b", "second"), doc("x:a", "first")])
        first = rowids()
        assert sorted(first.values()) == [first["x:a"], first["x:a"] + 1]  # in id order
        index.index([doc("x:c", "third"), doc("x:a", "first again")])
        second = rowids()
        assert second["x:a"] == first["x:a"] and second["x:b"] == first["x:b"]
        assert second["x:c"] == first["x:b"] + 1
        assert self.found(index, "first") == ["x:a"]
        assert self.found(index, "again") == ["x:a"]
        index.delete(["x:c"])
        index.index([doc("x:d", "fourth")])
        assert rowids()["x:d"] == second["x:c"]  # the highest number, free again
        assert self.found(index, "third") == []
        assert self.found(index, "fourth") == ["x:d"]


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="EARSHOT_TEST_DATABASE_URL is not set (PostgreSQL search tests need a server)",
)
class TestPostgresSearch(SearchIndexContract):
    @pytest.fixture
    def engine(self, postgres_engine: Engine) -> Engine:
        return postgres_engine

    @pytest.fixture
    def index(self, engine: Engine) -> SqlSearchIndex:
        _clear(engine)
        return SqlSearchIndex(engine)

    def test_search_sql_name(self, index: SqlSearchIndex) -> None:
        assert index.name == "postgresql"


@contextmanager
def _throwaway_postgres() -> Iterator[str]:
    """The URL of a new database on the test server, dropped on leaving."""
    assert POSTGRES_URL is not None
    name = f"earshot_search_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# -- errors of the SQL backend ---------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason="EARSHOT_TEST_DATABASE_URL is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def unmigrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: no search tables."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    with _throwaway_postgres() as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


def test_search_database_errors_are_search_errors_with_context(
    unmigrated_engine: Engine,
) -> None:
    index = SqlSearchIndex(unmigrated_engine)
    with pytest.raises(SearchError) as raised:
        index.index([doc("x:1", "one"), doc("x:2", "two")])
    message = str(raised.value)
    assert f"{index.name} search index: cannot index 2 documents (first 'x:1')" in message
    assert "earshot db upgrade" in message
    assert raised.value.__cause__ is not None
    with pytest.raises(SearchError, match="cannot delete 1 document"):
        index.delete(["x:9"])
    with pytest.raises(SearchError, match=r"cannot read document 'x:1'"):
        index.get("x:1")
    with pytest.raises(SearchError, match=r"cannot search documents \(text 'refund'"):
        index.search(SearchQuery("refund", filters={"source": "x"}))
    with pytest.raises(SearchError, match="cannot count documents"):
        index.count(SearchQuery())
    with pytest.raises(SearchError, match=r"cannot update \['status'\] of document 'x:1'"):
        index.update("x:1", {"status": "open"})


def test_search_sql_index_refuses_other_databases() -> None:
    from sqlalchemy import create_mock_engine

    engine = create_mock_engine("mysql://", executor=lambda *args, **kwargs: None)
    with pytest.raises(SearchError, match="needs SQLite or PostgreSQL, not 'mysql'"):
        SqlSearchIndex(engine)  # type: ignore[arg-type]


# -- query validation ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [-1, 0, MAX_LIMIT + 1])
def test_search_query_limit_out_of_range_raises(limit: int) -> None:
    with pytest.raises(SearchError, match=f"limit must be from 1 to {MAX_LIMIT}, got {limit}"):
        SearchQuery(limit=limit)


@pytest.mark.parametrize("limit", [1, MAX_LIMIT])
def test_search_query_limit_bounds_are_allowed(limit: int) -> None:
    assert SearchQuery(limit=limit).limit == limit


def test_search_query_negative_offset_raises() -> None:
    with pytest.raises(SearchError, match="offset must be 0 or more"):
        SearchQuery(offset=-1)


def test_search_query_unknown_filter_raises() -> None:
    with pytest.raises(SearchError, match=r"unknown search filters \['colour'\]"):
        SearchQuery(filters={"colour": "red", "intent": "billing"})


def test_search_query_too_long_text_raises() -> None:
    assert len(SearchQuery("a" * MAX_QUERY_CHARS).text) == MAX_QUERY_CHARS
    with pytest.raises(SearchError, match="the limit is 10,000"):
        SearchQuery("a" * (MAX_QUERY_CHARS + 1))


@pytest.mark.parametrize(
    "filters",
    [
        {"private": "true"},
        {"spam": 1},
        {"source": 5},
        {"intent": ["billing", 3]},
        {"pii_types": [b"email"]},
        {"queue": True},
    ],
    ids=[
        "private-str",
        "spam-int",
        "source-int",
        "intent-list-with-int",
        "pii-bytes",
        "queue-bool",
    ],
)
def test_search_query_filter_of_the_wrong_type_raises(filters: dict[str, Any]) -> None:
    with pytest.raises(SearchError, match=r"takes (bool|str) values"):
        SearchQuery(filters=filters)


def test_search_query_dates_must_be_datetimes() -> None:
    with pytest.raises(SearchError, match="created_from must be a datetime"):
        SearchQuery(created_from="2026-11-01")  # type: ignore[arg-type]


def test_search_query_allowed_values() -> None:
    query = SearchQuery(filters={"intent": "billing", "queue": ["a", "b"], "private": False})
    assert query.allowed("intent") == ["billing"]
    assert query.allowed("queue") == ["a", "b"]
    assert query.allowed("private") == [False]
    assert query.allowed("status") is None
