"""The replay listener: API-shaped files in, posts and dead letters out, cursor by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
    assert fetch.cursor["lines"] == {"a.jsonl": 2}
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
    assert again.cursor["lines"] == {"a.jsonl": 2}


def test_replay_leaves_unterminated_last_line_for_next_fetch(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(page(tweet("101")) + "\n" + page(tweet("102")), encoding="utf-8")
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:101"]
    assert fetch.cursor["lines"] == {"a.jsonl": 1}
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
        page(tweet("1", text="caf\ud800")).encode(),
        "a.jsonl:1 item 0: field 'text' contains a lone surrogate U+D800 at offset 3",
        id="lone-surrogate",
    ),
    pytest.param(
        page(tweet("1", created_at="9999-12-31T23:59:59-01:00")).encode(),
        "field 'created_at' is not an ISO-8601 time",
        id="time-overflow",
    ),
    pytest.param(
        page(tweet("1", referenced_tweets=5)).encode(),
        "field 'referenced_tweets' must be a list",
        id="references-not-a-list",
    ),
    pytest.param(
        page(tweet("1", text="   ")).encode(),
        "field 'text' is empty",
        id="empty-text",
    ),
    pytest.param(
        page(tweet("1" * 79)).encode(),
        "field 'id' is 81 characters long; the limit is 80",
        id="id-over-78-digits",
    ),
    pytest.param(
        page(tweet("1", lang="x" * 17)).encode(),
        "field 'language' is 17 characters long; the limit is 16",
        id="long-lang",
    ),
    pytest.param(
        page(tweet("1", author_id="4" * 63)).encode(),
        "field 'author.id' is 65 characters long; the limit is 64",
        id="long-author-id",
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


def users_page(user: dict, *tweets: dict) -> bytes:
    return json.dumps({"data": list(tweets), "includes": {"users": [user]}}).encode()


@pytest.mark.parametrize(
    ("user", "message"),
    [
        pytest.param(
            {**USER, "public_metrics": []}, "'public_metrics' must be an object", id="metrics-list"
        ),
        pytest.param(
            {**USER, "public_metrics": {"followers_count": 2**63}},
            "field 'author.followers' is 9223372036854775808",
            id="followers-2^63",
        ),
        pytest.param(
            {**USER, "public_metrics": {"followers_count": 2**31}},
            "field 'author.followers' is 2147483648; it must be from 0 to 2147483647",
            id="followers-2^31",
        ),
        pytest.param({**USER, "username": "ana\x00b"}, "NUL character", id="nul-username"),
        pytest.param({**USER, "username": "a" * 129}, "the limit is 128", id="long-username"),
        pytest.param({**USER, "name": "Ana \udc80"}, "lone surrogate", id="surrogate-name"),
    ],
)
def test_replay_bad_user_makes_its_tweets_dead_letters(
    tmp_path: Path, user: dict, message: str
) -> None:
    write_lines(
        tmp_path / "a.jsonl", [users_page(user, tweet("1")), page(tweet("201"), tweet("202"))]
    )
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:201", "x:202"]
    (letter,) = fetch.dead_letters
    assert message in letter.error and letter.location == "a.jsonl:1 item 0"


def test_replay_malformed_includes_keep_the_tweets(tmp_path: Path) -> None:
    line = json.dumps({"data": [tweet("1")], "includes": {"users": 5}})
    write_lines(tmp_path / "a.jsonl", [line, json.dumps({"data": [tweet("2")], "includes": 5})])
    fetch = listener(tmp_path).fetch(None)
    assert [(p.id, p.author.handle) for p in fetch.posts] == [("x:1", "42"), ("x:2", "42")]


def test_replay_unexpected_error_in_one_record_is_a_dead_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import listeners.replay as replay

    real = replay.normalize_tweet

    def flaky(item: dict, users: dict):  # a bug in a normalizer, not a bad record
        if item["id"] == "2":
            raise OverflowError("date value out of range")
        return real(item, users)

    monkeypatch.setattr(replay, "normalize_tweet", flaky)
    write_lines(tmp_path / "a.jsonl", [page(tweet("1"), tweet("2"), tweet("3"))])
    fetch = listener(tmp_path).fetch(None)
    assert [p.id for p in fetch.posts] == ["x:1", "x:3"]
    (letter,) = fetch.dead_letters
    assert letter.error == "a.jsonl:1 item 1: unexpected OverflowError: date value out of range"


@pytest.mark.parametrize(
    ("text", "kept", "note"),
    [
        ("re\u200bfund", "refund", "text: removed 1 invisible character (U+200B)"),
        ("ok \u202egnp.exe", "ok gnp.exe", "text: removed 1 invisible character (U+202E)"),
        (
            "\u200e\u200fhi\u061c\u00ad there\u3164\U000e0041",
            "hi there",
            "text: removed 6 invisible characters (U+00AD, U+061C, U+200E, U+200F, U+3164,"
            " U+E0041)",
        ),
    ],
)
def test_replay_strips_invisible_characters_and_keeps_the_post(
    tmp_path: Path, text: str, kept: str, note: str
) -> None:
    write_lines(tmp_path / "a.jsonl", [page(tweet("1", text=text))])
    fetch = listener(tmp_path).fetch(None)
    assert fetch.dead_letters == ()
    (post,) = fetch.posts
    assert (post.text, post.cleaned) == (kept, (note,))


def test_replay_keeps_emoji_tag_sequences(tmp_path: Path) -> None:
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    write_lines(tmp_path / "a.jsonl", [page(tweet("1", text=f"come on {england}!"))])
    (post,) = listener(tmp_path).fetch(None).posts
    assert post.text == f"come on {england}!" and post.cleaned == ()


def test_replay_file_replaced_by_a_shorter_one_is_read_again(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [page(tweet(str(i))) for i in range(1, 6)])
    first = listener(tmp_path).fetch(None)
    assert len(first.posts) == 5
    write_lines(path, [page(tweet("90")), page(tweet("91"))])  # a new export, shorter
    again = listener(tmp_path).fetch(first.cursor)
    assert [p.id for p in again.posts] == ["x:90", "x:91"]
    assert listener(tmp_path).fetch(again.cursor).posts == ()


def test_replay_file_replaced_under_an_old_lines_only_cursor_is_read_again(
    tmp_path: Path,
) -> None:
    write_lines(tmp_path / "a.jsonl", [page(tweet("90"))])
    fetch = listener(tmp_path).fetch({"lines": {"a.jsonl": 4}})
    assert [p.id for p in fetch.posts] == ["x:90"]
    appended = listener(tmp_path).fetch({"lines": {"a.jsonl": 1}})
    assert appended.posts == () and appended.cursor["files"]["a.jsonl"]["bytes"] > 0


def test_replay_path_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    from core.errors import ConfigError

    typo = ReplayListener(name="test", network="x", paths=["sampels/*.jsonl"], base_dir=tmp_path)
    with pytest.raises(ConfigError, match="replay source 'test': no file matches 'sampels/"):
        typo.fetch(None)


def test_replay_skips_reddit_content_deleted_before_it_was_seen(tmp_path: Path) -> None:
    def comment(name: str, body: str, author: str = "someone") -> dict:
        return {
            "kind": "t1",
            "data": {
                "name": name,
                "author": author,
                "body": body,
                "created_utc": 1_790_000_000,
                "permalink": f"/r/x/comments/a/b/{name}/",
                "link_id": "t3_a",
                "parent_id": "t3_a",
            },
        }

    listing = {
        "kind": "Listing",
        "data": {
            "children": [
                comment("t1_a1", "[deleted]"),
                comment("t1_a2", "[removed]"),
                comment("t1_a3", "still here", author="[deleted]"),
                comment("t1_a4", "a real reply"),
                {
                    **comment("t1_a5", "bad link"),
                    "data": {**comment("t1_a5", "x")["data"], "link_id": ""},
                },
            ]
        },
    }
    submission = {
        "kind": "t3",
        "data": {
            "name": "t3_b",
            "author": "someone",
            "title": "Hub keeps rebooting",
            "selftext": 5,
            "created_utc": 1_790_000_000,
            "permalink": "/r/x/comments/b/",
        },
    }
    listing["data"]["children"].append(submission)
    write_lines(tmp_path / "r.jsonl", [json.dumps(listing)])
    fetch = listener(tmp_path, network="reddit").fetch(None)
    assert [p.id for p in fetch.posts] == ["reddit:t1_a4"]
    assert [letter.error.split(": ", 1)[1] for letter in fetch.dead_letters] == [
        "field 'link_id' must be a t1_ or t3_ fullname, got ''",
        "field 'selftext' must be str, got int",
    ]


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


def test_replay_limit_stops_at_a_line_and_the_next_fetch_goes_on_from_there(
    tmp_path: Path,
) -> None:
    write_lines(tmp_path / "a.jsonl", [page(tweet("1"), tweet("2")), page(tweet("3"))])
    write_lines(tmp_path / "b.jsonl", [page(tweet("4"), tweet("5"))])
    whole = listener(tmp_path).fetch(None)
    seen, cursor, fetches = [], None, []
    while True:
        fetch = listener(tmp_path).fetch(cursor, limit=2)
        fetches.append(fetch)
        seen.extend(p.id for p in fetch.posts)
        cursor = fetch.cursor
        if not fetch.more:
            break
    assert [len(f.posts) for f in fetches] == [2, 3]  # whole lines: the limit is soft
    assert seen == [p.id for p in whole.posts]
    assert cursor == whole.cursor
    assert listener(tmp_path).fetch(cursor, limit=2).posts == ()


def test_replay_limit_then_append_reads_the_rest_once(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [page(tweet("1")), page(tweet("2"))])
    first = listener(tmp_path).fetch(None, limit=1)
    assert [p.id for p in first.posts] == ["x:1"] and first.more
    with path.open("ab") as handle:
        handle.write((page(tweet("3")) + "\n").encode())
    rest = listener(tmp_path).fetch(first.cursor)
    assert [p.id for p in rest.posts] == ["x:2", "x:3"] and not rest.more


def test_replay_since_skips_older_posts(tmp_path: Path) -> None:
    old = tweet("1", created_at="2026-10-01T08:00:00.000Z")
    write_lines(tmp_path / "a.jsonl", [page(old, tweet("2"))])
    fetch = listener(tmp_path).fetch(None, since=datetime(2026, 11, 1, tzinfo=UTC))
    assert [p.id for p in fetch.posts] == ["x:2"]
