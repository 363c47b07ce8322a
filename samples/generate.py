"""Build the sample corpus: X API v2 search pages and Reddit listings, as JSONL.

    python samples/generate.py      # rewrites samples/x/*.jsonl, samples/reddit/*.jsonl, labels.csv

Deterministic: the same code always writes the same files. Every post here was written by
the Earshot team for the fictional brand Halden; none comes from a real data set.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from posts_reddit import LONG_REDDIT, THREADS  # noqa: E402
from posts_x import (  # noqa: E402
    ADVOCATE_POSTS,
    CAMPAIGN_AUTHORS,
    CAMPAIGN_TEXT,
    DETRACTOR_POSTS,
    LONG_X_POSTS,
    NON_ENGLISH_POSTS,
    OUTAGE_BURST,
    SPAM_POSTS,
    X_POSTS,
)
from templates import PRODUCTS, REDDIT_QA, X_TEMPLATES  # noqa: E402

START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
PAGE_SIZE = 25
# Authors whose size matters to routing or advocacy; everyone else gets a modest audience.
KNOWN_AUTHORS = {
    "HaldenHome": (250_000, True, "Halden"),
    "HaldenSupport": (48_000, True, "Halden Support"),
    "gadgetgrump": (182_000, True, "The Gadget Grump"),
    "priya_builds": (8_400, False, "Priya | Smart Home Builds"),
    "tomas_at_home": (3_100, False, "Tomás"),
    "smarthomesally": (5_600, False, "Sally 🏡"),
    "marcusfixesthings": (2_200, False, "Marcus the Installer"),
    "techdaily_news": (96_000, True, "Tech Daily"),
    "homes_weekly": (41_000, True, "Homes Weekly"),
    "techreviewhub": (67_000, False, "Tech Review Hub"),
    "brightnest_installs": (1_200, False, "BrightNest Installs"),
    "voltline_retail": (3_900, True, "Voltline Retail"),
}


def x_user(handle: str, rng: random.Random, ids: dict[str, str]) -> dict:
    if handle not in ids:
        ids[handle] = str(1_400_000_000 + len(ids) * 7_919)
    followers, verified, name = KNOWN_AUTHORS.get(handle, (None, False, None))
    if followers is None:
        throwaway = handle[-6:].isdigit()
        followers = rng.randint(0, 6) if throwaway else int(rng.lognormvariate(5.0, 1.3))
    return {
        "id": ids[handle],
        "username": handle,
        "name": name or handle.replace("_", " ").strip().title(),
        "verified": verified,
        "public_metrics": {
            "followers_count": followers,
            "following_count": rng.randint(20, 900),
            "tweet_count": rng.randint(50, 40_000),
            "listed_count": rng.randint(0, 200),
        },
    }


def build_x(rng: random.Random) -> tuple[list[dict], list[dict], list[dict]]:
    entries = list(X_POSTS) + ADVOCATE_POSTS + DETRACTOR_POSTS + SPAM_POSTS + NON_ENGLISH_POSTS
    entries += LONG_X_POSTS
    entries += OUTAGE_BURST
    entries += [
        (a, CAMPAIGN_TEXT, "other", "neutral", False, {"spam": True}) for a in CAMPAIGN_AUTHORS
    ]
    order_seq = iter(range(1_000))
    first_names = [
        "amir",
        "beatriz",
        "cole",
        "daria",
        "emeka",
        "freya",
        "gus",
        "hiro",
        "ines",
        "jake",
        "kirsty",
        "leon",
        "maya",
        "nico",
        "owen",
        "pia",
        "quentin",
        "rosa",
        "seb",
        "tara",
        "umar",
        "val",
        "wes",
        "xena",
        "yusuf",
        "zara",
    ]
    combos = [(t, p) for t in X_TEMPLATES for p in PRODUCTS]
    rng.shuffle(combos)
    for i, ((text, intent, sentiment, private), product) in enumerate(combos[:150]):
        order = f"HLD-{3_000_000 + next(order_seq) * 7_331 % 6_999_999:07d}"
        author = f"{first_names[i % len(first_names)]}_{rng.choice('abcdefghjkmnprstw')}{i}"
        entries.append(
            (author, text.format(product=product, order=order), intent, sentiment, private, {})
        )

    spam_authors = {a for a, *_ in SPAM_POSTS} | set(CAMPAIGN_AUTHORS)
    # Spread posts randomly in time, but keep each thread in the order it was written.
    position: dict[int, float] = {}
    thread_start: dict[str, float] = {}
    for i, entry in enumerate(entries):
        opts = entry[5]
        thread = opts.get("key") or opts.get("reply_to") or opts.get("burst")
        if opts.get("burst"):  # a burst sits together, on the third morning
            position[i] = 0.42 + 0.0001 * i
        elif thread is None:
            position[i] = rng.random()
        else:
            start = thread_start.setdefault(thread, rng.random() * 0.9)
            position[i] = start + 0.004 * sum(
                1 for j in position if j in thread_members(entries, thread)
            )
    entries = [entries[i] for i in sorted(position, key=lambda i: position[i])]
    tweets, users, labels = [], {}, []
    ids: dict[str, str] = {}
    keys: dict[str, dict] = {}
    when = START
    burst_started = False
    for n, (author, text, intent, sentiment, private, opts) in enumerate(entries):
        if opts.get("burst"):
            if not burst_started:  # the next weekday morning at 07:30 UTC
                burst_started = True
                when = (when + timedelta(days=1)).replace(hour=7, minute=30)
                while when.weekday() >= 5:
                    when += timedelta(days=1)
            when += timedelta(minutes=rng.randint(1, 4))
        else:
            gap = rng.randint(3, 55)
            if when.hour < 6 or when.hour >= 23:  # people sleep: quieter nights
                gap *= 3
            when += timedelta(minutes=gap)
        tweet_id = str(1_985_000_000_000_000_000 + n * 104_729)
        user = x_user(author, rng, ids)
        users[author] = user
        tweet = {
            "id": tweet_id,
            "text": text,
            "author_id": user["id"],
            "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conversation_id": tweet_id,
            "lang": opts.get("lang", "en"),
            "edit_history_tweet_ids": [tweet_id],
            "public_metrics": {
                "retweet_count": rng.randint(0, 40)
                if user["public_metrics"]["followers_count"] > 10_000
                else rng.randint(0, 3),
                "reply_count": rng.randint(0, 12),
                "like_count": rng.randint(0, 300)
                if user["public_metrics"]["followers_count"] > 10_000
                else rng.randint(0, 20),
                "quote_count": rng.randint(0, 5),
                "bookmark_count": rng.randint(0, 5),
                "impression_count": rng.randint(50, 90_000),
            },
        }
        if "reply_to" in opts:
            parent = keys[opts["reply_to"]]
            tweet["conversation_id"] = parent["conversation_id"]
            tweet["in_reply_to_user_id"] = parent["author_id"]
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
        if "key" in opts:
            keys[opts["key"]] = tweet
        tweets.append(tweet)
        is_spam = author in spam_authors
        labels.append(
            {
                "id": f"x:{tweet_id}",
                "intent": intent,
                "sentiment": sentiment,
                "private": str(private).lower(),
                "spam": str(is_spam).lower(),
                "language": opts.get("lang", "en"),
            }
        )
    tweets.sort(key=lambda t: t["created_at"])
    return tweets, list(users.values()), labels


def thread_members(entries: list[tuple], thread: str) -> set[int]:
    return {i for i, e in enumerate(entries) if thread in (e[5].get("key"), e[5].get("reply_to"))}


def x_pages(tweets: list[dict], users: list[dict]) -> list[dict]:
    by_id = {u["id"]: u for u in users}
    newest_first = sorted(tweets, key=lambda t: int(t["id"]), reverse=True)
    pages = []
    for start in range(0, len(newest_first), PAGE_SIZE):
        chunk = newest_first[start : start + PAGE_SIZE]
        page_users = list({t["author_id"]: by_id[t["author_id"]] for t in chunk}.values())
        meta = {
            "newest_id": chunk[0]["id"],
            "oldest_id": chunk[-1]["id"],
            "result_count": len(chunk),
        }
        if start + PAGE_SIZE < len(newest_first):
            meta["next_token"] = f"b26v89c19zqg8o3f{start // PAGE_SIZE + 1:04d}"
        pages.append({"data": chunk, "includes": {"users": page_users}, "meta": meta})
    return pages


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def build_reddit(rng: random.Random) -> tuple[list[dict], list[dict]]:
    threads = list(THREADS) + LONG_REDDIT
    super_users = ["thermostat_wizard", "hub_helper_uk", "CircuitCass"]
    askers = [
        "sleepy_sam",
        "tidy_tina",
        "curious_cal",
        "home_hacker_hal",
        "rookie_rhi",
        "diy_dylan",
        "boiler_bex",
        "quiet_quinn",
        "frugal_fern",
        "night_owl_nate",
        "busy_bea",
        "handy_hank",
        "calm_cora",
        "rental_rory",
        "patient_pam",
    ]
    thanks = [
        "That worked, thank you!",
        "Sorted, cheers!",
        "Perfect, that fixed it. Thanks",
        "Brilliant, thanks so much",
        "Did that and it's fine now, ta",
    ]
    for i, (title, body, answer) in enumerate(REDDIT_QA):
        comments = [(super_users[i % 3], answer, "other", "neutral", False, None)]
        if i % 3 != 2:  # most askers come back to say it worked
            comments.append((askers[i], thanks[i % len(thanks)], "praise", "positive", False, 0))
        threads.append(
            {
                "subreddit": "HaldenHome",
                "post": (askers[i], title, body, "question", "neutral", False),
                "comments": comments,
            }
        )
    rng.shuffle(threads)
    things, labels = [], []
    when = START
    serial = 0

    def label(
        name: str, intent: str, sentiment: str, private: bool, author: str, text: str
    ) -> None:
        spam = author.startswith("spam_acc")
        lang = "es" if "pedido" in text else "en"
        labels.append(
            {
                "id": f"reddit:{name}",
                "intent": intent,
                "sentiment": sentiment,
                "private": str(private).lower(),
                "spam": str(spam).lower(),
                "language": lang,
            }
        )

    for thread in threads:
        sub = thread["subreddit"]
        author, title, body, intent, sentiment, private = thread["post"]
        serial += 1
        when += timedelta(minutes=rng.randint(20, 180))
        link = f"t3_{base36(1_700_000_000 + serial * 977)}"
        link_id36 = link[3:]
        slug = "_".join(title.lower().split()[:6]).replace("?", "").replace(",", "")
        things.append(
            {
                "kind": "t3",
                "data": {
                    "id": link_id36,
                    "name": link,
                    "title": title,
                    "selftext": body,
                    "author": author,
                    "author_fullname": f"t2_{base36(abs(hash_name(author)))}",
                    "subreddit": sub,
                    "subreddit_name_prefixed": f"r/{sub}",
                    "created_utc": when.timestamp(),
                    "permalink": f"/r/{sub}/comments/{link_id36}/{slug}/",
                    "url": f"https://www.reddit.com/r/{sub}/comments/{link_id36}/{slug}/",
                    "score": rng.randint(1, 240),
                    "num_comments": len(thread["comments"]),
                    "is_self": True,
                    "over_18": False,
                },
            }
        )
        label(link, intent, sentiment, private, author, title + body)
        comment_names: list[str] = []
        at = when
        for c_author, c_body, c_intent, c_sentiment, c_private, parent in thread["comments"]:
            serial += 1
            at += timedelta(minutes=rng.randint(4, 90))
            name = f"t1_{base36(2_100_000_000 + serial * 1_013)}"
            parent_id = link if parent is None else comment_names[parent]
            things.append(
                {
                    "kind": "t1",
                    "data": {
                        "id": name[3:],
                        "name": name,
                        "body": c_body,
                        "author": c_author,
                        "author_fullname": f"t2_{base36(abs(hash_name(c_author)))}",
                        "subreddit": sub,
                        "link_id": link,
                        "parent_id": parent_id,
                        "created_utc": at.timestamp(),
                        "permalink": f"/r/{sub}/comments/{link_id36}/{slug}/{name[3:]}/",
                        "score": rng.randint(-2, 120),
                    },
                }
            )
            comment_names.append(name)
            label(name, c_intent, c_sentiment, c_private, c_author, c_body)
    things.sort(key=lambda t: t["data"]["created_utc"])
    return things, labels


def hash_name(name: str) -> int:
    """A stable (unlike ``hash``) number for an author name."""
    value = 0
    for char in name:
        value = (value * 131 + ord(char)) % 2_147_483_647
    return value + 10_000_000


def listings(things: list[dict]) -> list[dict]:
    newest_first = sorted(things, key=lambda t: t["data"]["created_utc"], reverse=True)
    pages = []
    for start in range(0, len(newest_first), PAGE_SIZE):
        chunk = newest_first[start : start + PAGE_SIZE]
        after = chunk[-1]["data"]["name"] if start + PAGE_SIZE < len(newest_first) else None
        pages.append(
            {
                "kind": "Listing",
                "data": {"after": after, "before": None, "dist": len(chunk), "children": chunk},
            }
        )
    return pages


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_bad_records(path: Path) -> None:
    """Records a real feed does produce now and then; they must land in the dead-letter table."""
    user = {
        "id": "1499999999",
        "username": "edge_case_ed",
        "name": "Ed",
        "verified": False,
        "public_metrics": {"followers_count": 12},
    }
    good = {
        "id": "1985999999999999001",
        "text": "@HaldenSupport is the Hub 2 outage fixed yet?",
        "author_id": "1499999999",
        "created_at": "2026-11-09T10:00:00.000Z",
        "conversation_id": "1985999999999999001",
        "lang": "en",
    }
    missing = {
        "id": "1985999999999999002",
        "text": "no timestamp on this one",
        "author_id": "1499999999",
    }
    # A lone surrogate (half of a UTF-16 pair, from a client that cut an emoji in two) is no
    # Unicode text at all. (Invisible and direction-override characters are not bad records:
    # the listener removes them and keeps the post.)
    broken = dict(good, id="1985999999999999003", text="Halden refund \ud83d approved, DM me")
    lines = [
        b'{"data": [{"id": "1985999999999999000", "text": "truncated in transit',
        json.dumps(
            {"data": [good, missing], "includes": {"users": [user]}, "meta": {"result_count": 2}}
        ).encode(),
        json.dumps(
            {"data": [broken], "includes": {"users": [user]}, "meta": {"result_count": 1}}
        ).encode(),
        b'{"data": [{"id": "1985999999999999004", "text": "caf\xe9 latin-1 bytes", "author_id": "1499999999"}]}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


def main() -> None:
    rng = random.Random(20261122)
    tweets, users, x_labels = build_x(rng)
    things, reddit_labels = build_reddit(rng)
    write_jsonl(HERE / "x" / "search-recent.jsonl", x_pages(tweets, users))
    write_jsonl(HERE / "reddit" / "listings.jsonl", listings(things))
    write_bad_records(HERE / "x" / "bad-records.jsonl")
    with (HERE / "labels.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(
            out, fieldnames=["id", "intent", "sentiment", "private", "spam", "language"]
        )
        writer.writeheader()
        writer.writerows(x_labels + reddit_labels)
        # The one well-formed tweet among the bad records.
        writer.writerow(
            {
                "id": "x:1985999999999999001",
                "intent": "technical",
                "sentiment": "neutral",
                "private": "false",
                "spam": "false",
                "language": "en",
            }
        )
    print(
        f"{len(tweets)} tweets, {len(things)} reddit things, {len(x_labels) + len(reddit_labels)} labels"
    )


if __name__ == "__main__":
    main()
