"""Turn the TWCS development slice (``../shared/data/twcs_dev/twcs_dev.csv``, real customer
tweets and brands' replies; CC BY-NC-SA, for development and evaluation only) into an
import-history file: each customer tweet that opens a conversation, with the brand's first
reply to it. Nothing is copied into the repository: the file is written under ``var/``.

    python -m services.twcs [CSV] [OUT]    # default: ../shared/data/twcs_dev/twcs_dev.csv,
                                           # var/twcs_history.jsonl
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from pathlib import Path

DEFAULT_CSV = Path("..") / "shared" / "data" / "twcs_dev" / "twcs_dev.csv"
DEFAULT_OUT = Path("var") / "twcs_history.jsonl"


def _time(value: str) -> str:
    return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").isoformat()


def convert(source: Path, out: Path) -> int:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = {r["tweet_id"]: r for r in csv.DictReader(handle)}
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as sink:
        for row in sorted(rows.values(), key=lambda r: _time(r["created_at"])):
            if row["inbound"] != "True" or row["in_response_to_tweet_id"]:
                continue  # only the customer tweets that open a conversation
            replies = [
                rows[i]
                for i in (row["response_tweet_id"] or "").split(",")
                if i in rows and rows[i]["inbound"] == "False"
            ]
            if not replies:
                continue
            first = min(replies, key=lambda r: _time(r["created_at"]))
            record = {
                "customer_text": row["text"],
                "brand_reply": first["text"],
                "brand": first["author_id"],
                "created_at": _time(row["created_at"]),
            }
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    return written


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_OUT
    print(f"{convert(source, out)} opening tweets with the brand's reply written to {out}")


if __name__ == "__main__":
    main()
