"""The replay listener: API-shaped files in, posts and dead letters out, cursor by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from listeners.replay import ReplayListener

USER = {
    "id": "42",
    "username": "ana_b",
    "name": "Ana B",
    "verified": True,
    "public_metrics": {"followers_count": 5100},
}


def tweet(tweet_id: str, text: str = "hello @HaldenSupport", **extra: object) -> dict:
    return {
        "id": tweet_id,
        "text": text,
        "author_id": "42",
        "created_at": "2026-11-02T09:30:00.000Z",
        "conversation_id": tweet_id,
        "lang": "en",
        "public_metrics": {"like_count": 3, "retweet_count": 1},
        **extra,
    }


def page(*tweets: dict) -> str:
    return json.dumps(
        {"data": list(tweets), "includes": {"users": [USER]}, "meta": {"result_count": len(tweets)}}
    )


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(
        b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    )
    return path


def listener(tmp_path: Path, network: str = "x") -> ReplayListener:
    return ReplayListener(name="test", network=network, paths=["*.jsonl"], base_dir=tmp_path)


def test_replay_reads_x_pages_into_posts(tmp_path: Path) -> None:
    write_lines(tmp_path / "a.jsonl", [page(tweet("101"), tweet("102")), page(tweet("103"))])
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:101", "x:102", "x:103"]
    assert fetch.dead_letters == ()
    assert fetch.cursor == {"lines": {"a.jsonl": 2}}
    post = fetch.posts[0]
    assert post.author.handle == "ana_b" and post.author.followers == 5100 and post.author.verified
    assert post.url == "https://x.com/ana_b/status/101"
    assert post.created_at.isoformat() == "2026-11-02T09:30:00+00:00"


def test_replay_cursor_skips_consumed_lines_and_reads_appended(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [page(tweet("101"))])
    first = listener(tmp_path).fetch(None)
    assert listener(tmp_path).fetch(first.cursor).posts == ()
    with path.open("a", encoding="utf-8") as handle:
        handle.write(page(tweet("102")) + "\n")
    again = listener(tmp_path).fetch(first.cursor)
    assert [p.id for p in again.posts] == ["x:102"]
    assert again.cursor == {"lines": {"a.jsonl": 2}}


def test_replay_leaves_unterminated_last_line_for_next_fetch(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(page(tweet("101")) + "\n" + page(tweet("102")), encoding="utf-8")
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:101"]
    assert fetch.cursor == {"lines": {"a.jsonl": 1}}
    assert fetch.dead_letters == ()


BAD_CASES = [
    pytest.param(
        b'{"data": [{"id": "1", "text": "cut', "a.jsonl:1: invalid JSON", id="broken-json"
    ),
    pytest.param(
        page({k: v for k, v in tweet("1").items() if k != "created_at"}).encode(),
        "a.jsonl:1 item 0: missing required field 'created_at'",
        id="missing-field",
    ),
    pytest.param(
        page(tweet("1", text=12345)).encode(),
        "a.jsonl:1 item 0: field 'text' must be str, got int",
        id="wrong-type",
    ),
    pytest.param(
        page(tweet("abc")).encode(),
        "a.jsonl:1 item 0: field 'id' must be a numeric id",
        id="bad-id",
    ),
    pytest.param(
        page(tweet("1", text="a" * 100_000)).encode(),
        "a.jsonl:1 item 0: field 'text' is 100,000 characters long; the limit is 40,000",
        id="100kb-text",
    ),
    pytest.param(
        page(tweet("1", text="re\u200bfund")).encode(),
        "a.jsonl:1 item 0: field 'text' contains U+200B ZERO WIDTH SPACE at offset 2",
        id="zero-width",
    ),
    pytest.param(
        page(tweet("1", text="ok \u202egnp.exe")).encode(),
        "a.jsonl:1 item 0: field 'text' contains U+202E RIGHT-TO-LEFT OVERRIDE at offset 3",
        id="rtl-override",
    ),
    pytest.param(
        b'{"data": [{"id": "1", "text": "caf\xe9"}]}',
        "a.jsonl:1: invalid UTF-8 at byte 34",
        id="invalid-utf8",
    ),
    pytest.param(b"[1, 2, 3]", "a.jsonl:1: expected a JSON object, got list", id="not-an-object"),
    pytest.param(
        b'{"something": "else"}',
        "a.jsonl:1: expected an X API v2 page with 'data'",
        id="wrong-shape",
    ),
    pytest.param(
        page(tweet("1", created_at="yesterday")).encode(),
        "field 'created_at' is not an ISO-8601 time",
        id="bad-time",
    ),
]


@pytest.mark.parametrize(("bad_line", "message"), BAD_CASES)
def test_replay_bad_record_goes_to_dead_letter_and_batch_continues(
    tmp_path: Path, bad_line: bytes, message: str
) -> None:
    write_lines(tmp_path / "a.jsonl", [bad_line, page(tweet("201"), tweet("202"))])
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:201", "x:202"]
    (letter,) = fetch.dead_letters
    assert message in letter.error
    assert letter.location.startswith("a.jsonl:1")
    assert letter.source == "test"
    if b"item" not in letter.location.encode():
        assert letter.payload == bad_line  # the raw line, byte for byte


def test_replay_bad_item_keeps_its_neighbours_on_the_same_page(tmp_path: Path) -> None:
    broken = {k: v for k, v in tweet("302").items() if k != "author_id"}
    write_lines(tmp_path / "a.jsonl", [page(tweet("301"), broken, tweet("303"))])
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:301", "x:303"]
    (letter,) = fetch.dead_letters
    assert letter.location == "a.jsonl:1 item 1"
    assert json.loads(letter.payload) == broken


def test_replay_keeps_emoji_and_zero_width_joiner(tmp_path: Path) -> None:
    text = "family setup 👨\u200d👩\u200d👧 loves the Aura 🔊"
    write_lines(tmp_path / "a.jsonl", [page(tweet("401", text=text))])
    fetch = listener(tmp_path).fetch(None)
    assert fetch.posts[0].text == text


def test_replay_reply_keeps_thread_ids(tmp_path: Path) -> None:
    reply = tweet(
        "502",
        conversation_id="501",
        in_reply_to_user_id="7",
        referenced_tweets=[{"type": "replied_to", "id": "501"}],
    )
    write_lines(tmp_path / "a.jsonl", [page(tweet("501"), reply)])
    post = listener(tmp_path).fetch(None).posts[1]
    assert (post.conversation_id, post.in_reply_to_id) == ("x:501", "x:501")


def reddit_listing(*children: dict) -> str:
    return json.dumps({"kind": "Listing", "data": {"after": None, "children": list(children)}})


SUBMISSION = {
    "kind": "t3",
    "data": {
        "name": "t3_abc12",
        "title": "Hub 2 dropping devices",
        "selftext": "Every morning sensors are offline.",
        "author": "zigbee_zed",
        "author_fullname": "t2_zz9",
        "created_utc": 1762074000.0,
        "permalink": "/r/HaldenHome/comments/abc12/hub_2/",
        "score": 14,
        "num_comments": 1,
    },
}
COMMENT = {
    "kind": "t1",
    "data": {
        "name": "t1_def34",
        "body": "Set your router to channel 1.",
        "author": "hub_helper_uk",
        "author_fullname": "t2_hh1",
        "created_utc": 1762077600.0,
        "permalink": "/r/HaldenHome/comments/abc12/hub_2/def34/",
        "link_id": "t3_abc12",
        "parent_id": "t3_abc12",
        "score": 9,
    },
}


def test_replay_reads_reddit_submissions_and_comments(tmp_path: Path) -> None:
    write_lines(tmp_path / "r.jsonl", [reddit_listing(SUBMISSION, COMMENT)])
    fetch = listener(tmp_path, "reddit").fetch(None)
    submission, comment = fetch.posts
    assert submission.id == "reddit:t3_abc12"
    assert submission.title == "Hub 2 dropping devices"
    assert submission.text == "Hub 2 dropping devices\n\nEvery morning sensors are offline."
    assert submission.url == "https://www.reddit.com/r/HaldenHome/comments/abc12/hub_2/"
    assert comment.id == "reddit:t1_def34"
    assert comment.conversation_id == "reddit:t3_abc12"
    assert comment.in_reply_to_id == "reddit:t3_abc12"
    assert comment.author.id == "reddit:t2_hh1"
    assert comment.created_at.isoformat() == "2025-11-02T10:00:00+00:00"


def test_replay_reddit_bad_child_is_dead_lettered(tmp_path: Path) -> None:
    bad = {"kind": "t1", "data": {**COMMENT["data"], "name": "t3_wrong"}}
    write_lines(tmp_path / "r.jsonl", [reddit_listing(SUBMISSION, bad)])
    fetch = listener(tmp_path, "reddit").fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t3_abc12"]
    (letter,) = fetch.dead_letters
    assert "fullname 't3_wrong' does not match kind 't1'" in letter.error


def test_replay_bundled_samples_parse(tmp_path: Path) -> None:
    from tests.conftest import SAMPLES, sample_labels

    x = ReplayListener(name="x", network="x", paths=["x/*.jsonl"], base_dir=SAMPLES).fetch(None)
    reddit = ReplayListener(
        name="r", network="reddit", paths=["reddit/*.jsonl"], base_dir=SAMPLES
    ).fetch(None)
    ids = {p.id for p in x.posts + reddit.posts}
    assert ids == set(sample_labels())
    assert len(ids) >= 400
    assert len(x.dead_letters) == 4 and reddit.dead_letters == ()
