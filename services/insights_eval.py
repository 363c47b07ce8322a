"""Measure the advocate and super-user rankings on a hand-labelled fixture of authors.

The fixture's posts are labelled by the configured classifiers (as stored posts would be),
scored as the daily run scores them, and the top of each list is compared with the authors
the team labelled: precision at 5 and at 10 (the share of the top k who truly are advocates,
or super-users), and where the ones that should not be there (one-off fans, staff, spammers,
askers) ended up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.care import handle_key
from core.config import Config, read_yaml
from core.errors import InputError
from core.insights import Activity
from core.models import Author, Post
from core.timeutil import from_iso
from services import insights
from services.runtime import router

FIXTURE = Path(__file__).resolve().parent.parent / "insights" / "data" / "authors_fixture.yaml"
KINDS = {"advocate": "advocate", "superuser": "superuser"}


@dataclass(frozen=True)
class Result:
    precision: dict[str, dict[int, float]]
    """Per kind, precision at 5 and 10."""
    ranking: dict[str, list[tuple[str, str, float]]]
    """Per kind, the top 10: (handle, the author's label, score)."""
    authors: int
    posts: int


def load_fixture(path: Path) -> tuple[datetime, dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """The fixture's time, its authors and their posts as plain records (id, author, time,
    text, engagement, thread, parent)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or "authors" not in data or "at" not in data:
        raise InputError(f"{path}: expected a mapping with at, authors, posts, threads")
    at = data["at"] if isinstance(data["at"], datetime) else from_iso(str(data["at"]))
    assert at is not None
    authors: dict[str, dict[str, Any]] = data["authors"]
    records: list[dict[str, Any]] = []
    for n, entry in enumerate(data.get("posts") or [], start=1):
        author, days, text, engagement = entry
        if author not in authors:
            raise InputError(f"{path}: post {n}: unknown author {author!r}")
        records.append(
            {
                "id": f"p{n}",
                "author": author,
                "at": at - timedelta(days=days),
                "text": text,
                "engagement": engagement,
                "thread": None,
                "parent": None,
            }
        )
    for t, thread in enumerate(data.get("threads") or [], start=1):
        asker = thread["asker"]
        if asker not in authors:
            raise InputError(f"{path}: thread {t}: unknown asker {asker!r}")
        start = at - timedelta(days=thread["days"])
        question_id = f"t{t}"
        records.append(
            {
                "id": question_id,
                "author": asker,
                "at": start,
                "text": thread["question"],
                "engagement": 3,
                "thread": question_id,
                "parent": None,
            }
        )
        reply_ids: list[str] = []
        for r, reply in enumerate(thread.get("replies") or []):
            author, minutes, text, upvotes = reply[:4]
            parent = reply_ids[reply[4]] if len(reply) > 4 else question_id
            if author not in authors:
                raise InputError(f"{path}: thread {t} reply {r + 1}: unknown author {author!r}")
            reply_id = f"t{t}r{r}"
            reply_ids.append(reply_id)
            records.append(
                {
                    "id": reply_id,
                    "author": author,
                    "at": start + timedelta(minutes=minutes),
                    "text": text,
                    "engagement": upvotes,
                    "thread": question_id,
                    "parent": parent,
                }
            )
    return at, authors, records


def activities(
    config: Config, path: Path, progress: Callable[[str], None] | None = None
) -> tuple[datetime, dict[str, dict[str, Any]], list[Activity]]:
    """The fixture's posts, labelled by the configured classifiers."""
    from nlp import build_pipeline

    at, authors, records = load_fixture(path)
    posts = []
    for rec in records:
        spec = authors[rec["author"]]
        network = spec["network"]

        def native(record_id: str | None, network: str = network) -> str | None:
            if record_id is None:
                return None
            return record_id if network == "x" else f"t1_{record_id}"

        posts.append(
            Post(
                id=f"{network}:{native(rec['id'])}",
                source=network,
                url=f"https://example.test/{network}/{rec['id']}",
                author=Author(
                    id=f"{network}:{rec['author']}",
                    handle=rec["author"],
                    followers=int(spec.get("followers", 0)),
                ),
                text=rec["text"],
                created_at=rec["at"],
                conversation_id=native(rec["thread"]),
                in_reply_to_id=native(rec["parent"]),
            )
        )
    if progress:
        progress(f"labelling {len(posts)} fixture posts with the configured classifiers")
    labels = build_pipeline(config).run(posts)
    out = []
    for post, rec, label in zip(posts, records, labels, strict=True):
        out.append(
            Activity(
                post_id=post.id,
                source=post.source,
                handle=post.author.handle,
                followers=post.author.followers,
                created_at=post.created_at,
                text=post.text,
                sentiment=label.sentiment.label,
                sentiment_score=label.sentiment.score,
                intent=label.intent.label,
                spam=label.is_spam,
                engagement=int(rec["engagement"]),
                conversation_id=post.conversation_id,
                in_reply_to_id=post.in_reply_to_id,
            )
        )
    return at, authors, out


def evaluate(
    config: Config, path: Path | None = None, progress: Callable[[str], None] | None = None
) -> Result:
    path = path or FIXTURE
    at, authors, acts = activities(config, path, progress)
    sets = insights.settings(config)
    brand = {handle_key("x", h) for h in router(config).config.brand_handles}
    staff = {handle_key(*h.split(":", 1)) for h in sets.staff_handles if ":" in h}

    def identity(a: Activity) -> tuple[str, str | None, str | None]:
        return a.handle, None, None

    def excluded(a: Activity) -> bool:
        return handle_key(a.source, a.handle) in brand | staff

    by_kind = insights.compute_scores(
        lambda: acts, at=at, settings=sets, identity=identity, excluded=excluded
    )
    precision: dict[str, dict[int, float]] = {}
    ranking: dict[str, list[tuple[str, str, float]]] = {}
    for kind, label in KINDS.items():
        top = [(s.key, authors[s.key]["label"], s.score) for s in by_kind[kind][:10]]
        ranking[kind] = top
        precision[kind] = {
            k: round(sum(1 for _, lab, _ in top[:k] if lab == label) / k, 3) for k in (5, 10)
        }
    return Result(precision, ranking, len(authors), len(acts))


def format_result(result: Result) -> str:
    lines = [f"Insights fixture: {result.authors} authors, {result.posts} posts"]
    for kind, top in result.ranking.items():
        p = result.precision[kind]
        lines.append(f"{kind}s: precision@5 {p[5]:.2f}, precision@10 {p[10]:.2f}")
        for rank, (handle, label, score) in enumerate(top, start=1):
            mark = "" if label == kind else f"   <- labelled {label}"
            lines.append(f"  {rank:>2}. {handle:<20} {score:>7.2f}{mark}")
    return "\n".join(lines)
