"""Fuzzing the normalizers and the replay listener (hypothesis, bounded and derandomized):
any JSON value in any field of an otherwise valid record, and any JSON value as a whole
record or page, gives a valid post or a RecordError, and a fetch never raises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import RecordError
from core.models import Post
from listeners.reddit_records import normalize_reddit_thing
from listeners.replay import ReplayListener
from listeners.x_records import normalize_tweet

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(), max_size=30)  # includes surrogates and controls
    | st.sampled_from(["", "[deleted]", "9999-12-31T23:59:59-01:00", "t1_", "x" * 100])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

TWEET = {
    "id": "1790000000000000001",
    "text": "@HaldenSupport where is my order?",
    "author_id": "42",
    "created_at": "2026-11-02T09:30:00.000Z",
    "conversation_id": "1790000000000000001",
    "lang": "en",
    "public_metrics": {"like_count": 1},
    "referenced_tweets": [{"type": "replied_to", "id": "1790000000000000000"}],
}
USER = {
    "id": "42",
    "username": "ana_b",
    "name": "Ana",
    "verified": False,
    "public_metrics": {"followers_count": 10},
}
COMMENT = {
    "kind": "t1",
    "data": {
        "name": "t1_abc",
        "author": "someone",
        "author_fullname": "t2_xyz",
        "body": "Halden support never answered",
        "created_utc": 1_790_000_000,
        "permalink": "/r/halden/comments/a/b/abc/",
        "link_id": "t3_a",
        "parent_id": "t3_a",
        "score": 3,
    },
}
SUBMISSION = {
    "kind": "t3",
    "data": {
        "name": "t3_def",
        "author": "someone",
        "title": "Hub 2 keeps rebooting",
        "selftext": "since the update",
        "created_utc": 1_790_000_000.5,
        "permalink": "/r/halden/comments/def/",
        "score": 12,
        "num_comments": 4,
    },
}


def valid_or_record_error(normalize: Any, *args: Any) -> None:
    try:
        post = normalize(*args)
    except RecordError:
        return
    assert isinstance(post, Post)
    assert Post.from_dict(json.loads(json.dumps(post.to_dict()))) == post  # staging round trip


@FUZZ
@given(field=st.sampled_from(sorted(TWEET)), value=json_values)
def test_fuzz_x_tweet_field(field: str, value: Any) -> None:
    valid_or_record_error(normalize_tweet, {**TWEET, field: value}, {"42": USER})


@FUZZ
@given(field=st.sampled_from(sorted(USER)), value=json_values)
def test_fuzz_x_user_field(field: str, value: Any) -> None:
    valid_or_record_error(normalize_tweet, TWEET, {"42": {**USER, field: value}})


@FUZZ
@given(
    thing=st.sampled_from([COMMENT, SUBMISSION]),
    key=st.sampled_from(sorted({*COMMENT["data"], *SUBMISSION["data"], "kind"})),
    value=json_values,
)
def test_fuzz_reddit_data_field(thing: dict, key: str, value: Any) -> None:
    if key == "kind":
        valid_or_record_error(normalize_reddit_thing, {**thing, "kind": value})
    else:
        valid_or_record_error(
            normalize_reddit_thing, {**thing, "data": {**thing["data"], key: value}}
        )


@FUZZ
@given(record=json_values)
def test_fuzz_whole_records(record: Any) -> None:
    valid_or_record_error(normalize_tweet, record, {})
    valid_or_record_error(normalize_reddit_thing, record)


@FUZZ
@given(page=json_values, tweets=st.lists(json_values, max_size=3))
def test_fuzz_replay_fetch_never_raises(tmp_path_factory: Any, page: Any, tweets: list) -> None:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    lines = [
        json.dumps(page),
        json.dumps({"data": [*tweets, TWEET], "includes": {"users": [USER, *tweets]}}),
        json.dumps({"kind": "Listing", "data": {"children": [*tweets, COMMENT]}}),
    ]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for network in ("x", "reddit"):
        fetch = ReplayListener(
            name="fuzz", network=network, paths=["*.jsonl"], base_dir=folder
        ).fetch(None)
        # the valid record of its network is always there, whatever surrounds it
        assert any(p.id in ("x:1790000000000000001", "reddit:t1_abc") for p in fetch.posts)
        for letter in fetch.dead_letters:
            assert letter.error and letter.location.startswith("a.jsonl:")
