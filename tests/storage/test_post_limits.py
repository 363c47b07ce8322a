"""A post the model accepts is a post every store accepts: the model enforces PostgreSQL's
limits (lengths, NUL, integer ranges) on every database, so that a record is dead-lettered
alike on SQLite and PostgreSQL instead of crashing one of them (hypothesis, bounded)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import RecordError
from core.models import (
    MAX_AUTHOR_ID,
    MAX_COUNT,
    MAX_HANDLE,
    MAX_LANGUAGE,
    MAX_METRIC,
    MAX_POST_ID,
    Author,
    Post,
)
from storage import SqlStore

# Any character a valid post may hold: no lone surrogates, no NUL.
valid_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=60,
)
key_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\x7f"),
    min_size=1,
)


@st.composite
def posts(draw: st.DrawFn) -> Post:
    native = draw(key_text.filter(lambda s: len(s) <= MAX_POST_ID - 2))
    return Post(
        id=f"x:{native}",
        source="x",
        url=draw(valid_text),
        author=Author(
            id=f"x:{draw(key_text.filter(lambda s: len(s) <= MAX_AUTHOR_ID - 2))}",
            handle=draw(key_text.filter(lambda s: len(s) <= MAX_HANDLE)),
            display_name=draw(valid_text),
            followers=draw(st.integers(0, MAX_COUNT)),
            verified=draw(st.booleans()),
        ),
        text=draw(valid_text),
        created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        language=draw(st.none() | key_text.filter(lambda s: len(s) <= MAX_LANGUAGE)),
        metrics=draw(
            st.dictionaries(
                st.sampled_from(["like_count", "score"]), st.integers(-MAX_METRIC, MAX_METRIC)
            )
        ),
        title=draw(st.none() | valid_text),
        cleaned=tuple(draw(st.lists(valid_text, max_size=2))),
    )


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(post=posts())
def test_post_limits_every_valid_post_is_stored_and_read_back(store: SqlStore, post: Post) -> None:
    store.posts.upsert([post])
    assert store.posts.get(post.id) == post


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "x:" + "1" * 79}, "field 'id' is 81 characters long; the limit is 80"),
        ({"language": "x" * 17}, "field 'language' is 17 characters long"),
        ({"text": "a\x00b"}, "field 'text' holds a NUL character at offset 1"),
        ({"text": "a\ud800"}, "field 'text' holds a lone surrogate U+D800"),
        ({"metrics": {"like_count": 2**60}}, "field 'metrics.like_count' is"),
        ({"metrics": {"like_count": 1.5}}, "field 'metrics.like_count' must be an integer"),
    ],
)
def test_post_limits_refuse_what_a_store_would(change: dict, message: str) -> None:
    base = {
        "id": "x:1",
        "source": "x",
        "url": "https://x.com/a/status/1",
        "author": Author(id="x:9", handle="a"),
        "text": "hi",
        "created_at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    with pytest.raises(RecordError, match=re.escape(message)):
        Post(**{**base, **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "x:" + "4" * 63}, "field 'author.id' is 65 characters long; the limit is 64"),
        ({"handle": "a\x00b"}, "NUL character"),
        ({"handle": "a" * 129}, "the limit is 128"),
        ({"followers": 2**31}, "field 'author.followers' is 2147483648"),
        ({"followers": -1}, "field 'author.followers' is -1"),
    ],
)
def test_post_limits_refuse_bad_authors(change: dict, message: str) -> None:
    with pytest.raises(RecordError, match=re.escape(message)):
        Author(**{"id": "x:9", "handle": "a", **change})
