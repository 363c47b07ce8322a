"""The labelled sample corpus, as training and the benchmark read it."""

from __future__ import annotations

import csv
import logging

from nlp.samples import sample_examples
from tests.conftest import SAMPLES


def test_sample_examples_match_what_the_replay_listener_reads(caplog) -> None:
    from listeners.replay import ReplayListener

    with SAMPLES.joinpath("labels.csv").open(encoding="utf-8") as handle:
        labels = {row["id"]: row for row in csv.DictReader(handle)}
    posts = []
    with caplog.at_level(logging.ERROR, logger="listeners.replay"):
        for network in ("x", "reddit"):
            listener = ReplayListener(
                name="samples", network=network, paths=[f"{network}/*.jsonl"], base_dir=SAMPLES
            )
            posts.extend(listener.fetch(None).posts)
    expected = [
        (p.text, labels[p.id]) for p in posts if p.id in labels and labels[p.id]["spam"] != "true"
    ]
    assert len(expected) > 300
    assert sample_examples(SAMPLES) == expected


def test_sample_examples_without_labels_is_empty(tmp_path) -> None:
    assert sample_examples(tmp_path) == []
