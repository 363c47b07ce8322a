"""With ``EARSHOT_ES_URL`` set (here: the local stub cluster), ``earshot run --once`` indexes
every stored post exactly once in Elasticsearch and ``earshot search`` answers from it; a
refused document is dead-lettered, a cluster that is down loses nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import main
from core.config import load_config
from services.runtime import open_store
from tests.conftest import sample_labels
from tests.search.es_stub import Cluster, running_stub


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    with running_stub() as (url, cluster):
        monkeypatch.setenv("EARSHOT_ES_URL", url)
        monkeypatch.setenv("EARSHOT_ES_INDEX", "earshot-posts")
        yield cluster


def documents(cluster: Cluster) -> dict[str, dict]:
    return cluster.indices[cluster.aliases["earshot-posts"]]["docs"]


def test_elastic_run_indexes_every_post_once_and_search_answers_from_it(
    config_path: Path, stub: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(config_path)]
    assert main([*config, "es", "setup"]) == 0
    assert "write alias earshot-posts: created" in capsys.readouterr().out
    assert main([*config, "es", "setup"]) == 0
    assert capsys.readouterr().out.count("unchanged") == 5

    assert main([*config, "run", "--once"]) == 0
    assert main([*config, "run", "--once"]) == 0
    store = open_store(load_config(config_path))
    assert set(documents(stub)) == set(sample_labels()) and store.outbox.count() == 0
    queue_of = {d.post_id: d.queue for d in store.queues.items(limit=1000) for d in [d.decision]}
    assert all(documents(stub)[i]["queue"] == q for i, q in queue_of.items())

    searches = len([r for r in stub.requests if r[1].endswith("/_search")])
    capsys.readouterr()
    assert main([*config, "search", "refund"]) == 0
    out = capsys.readouterr().out
    assert len([r for r in stub.requests if r[1].endswith("/_search")]) == searches + 1
    assert "refund" in out.lower()


def test_elastic_refused_document_is_dead_lettered_and_the_rest_indexed(
    config_path: Path, stub: Cluster
) -> None:
    config = ["--config", str(config_path)]
    main([*config, "es", "setup"])
    victim = next(iter(sample_labels()))
    stub.refuse[victim] = "failed to parse field [text]"
    assert main([*config, "run", "--once"]) == 0
    store = open_store(load_config(config_path))
    assert set(documents(stub)) == set(sample_labels()) - {victim}
    (letter,) = [d for d in store.dead_letters.list() if d.location == victim]
    assert letter.source == "search:elasticsearch"
    assert "failed to parse field [text]" in letter.error
    assert store.outbox.count() == 0


def test_elastic_cluster_down_loses_nothing(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ["--config", str(config_path)]
    monkeypatch.setenv("EARSHOT_ES_URL", "http://127.0.0.1:9")  # nothing listens there
    assert main([*config, "run", "--once"]) == 1  # the index step fails, loudly
    store = open_store(load_config(config_path))
    assert store.outbox.count() >= len(sample_labels())  # every change kept for the next run
    with running_stub() as (url, cluster):
        monkeypatch.setenv("EARSHOT_ES_URL", url)
        assert main([*config, "es", "setup"]) == 0
        assert main([*config, "run", "--once"]) == 0
        assert set(documents(cluster)) == set(sample_labels())
    assert store.outbox.count() == 0


def test_elastic_settings_from_the_airflow_connection(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types

    from services import runtime

    connection = types.SimpleNamespace(
        host="es.internal",
        port=9243,
        schema="https",
        login="earshot_writer",
        password="s3cret",
        extra_dejson={"ca_certs": "/etc/ssl/es-ca.pem", "index": "brand-posts"},
    )

    monkeypatch.delenv("EARSHOT_ES_URL", raising=False)
    config = load_config(config_path)
    assert runtime.elastic_settings(config) is None  # outside Airflow: the embedded search
    monkeypatch.setitem(sys.modules, "airflow.sdk", types.ModuleType("airflow.sdk"))
    monkeypatch.setattr(runtime, "airflow_connection", lambda conn_id: connection)
    settings = runtime.elastic_settings(config)
    assert settings is not None
    assert (settings.url, settings.index, settings.ca_certs) == (
        "https://es.internal:9243",
        "brand-posts",
        "/etc/ssl/es-ca.pem",
    )
    assert (settings.username, settings.password, settings.verify_certs) == (
        "earshot_writer",
        "s3cret",
        True,
    )
    assert "s3cret" not in repr(settings)


def test_elastic_reindex_rebuilds_the_index_from_the_store(
    config_path: Path, stub: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    config = ["--config", str(config_path)]
    main([*config, "es", "setup"])
    main([*config, "run", "--once"])
    documents(stub).clear()  # a new, empty cluster (or a lost index)
    capsys.readouterr()
    assert main([*config, "es", "reindex"]) == 0
    out = capsys.readouterr().out
    assert f"queued {len(sample_labels())} posts" in out
    assert set(documents(stub)) == set(sample_labels())


def test_elastic_compliance_removal_waits_for_the_cluster_and_then_reaches_it(
    config_path: Path, stub: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.errors import SearchError
    from services import pipeline

    config = ["--config", str(config_path)]
    main([*config, "es", "setup"])
    main([*config, "run", "--once"])
    store = open_store(load_config(config_path))
    gone = sorted(sample_labels())[:3]
    store.removals.remove([(post_id, "deleted at the source") for post_id in gone], source="x")

    up = os.environ["EARSHOT_ES_URL"]
    monkeypatch.setenv("EARSHOT_ES_URL", "http://127.0.0.1:9")  # the cluster is down
    with pytest.raises(SearchError, match="Elasticsearch: cannot delete"):
        pipeline.index(load_config(config_path))
    assert store.outbox.count() == len(gone)  # the removals wait in the outbox
    assert set(gone) <= set(documents(stub))

    monkeypatch.setenv("EARSHOT_ES_URL", up)  # back up: the removals reach it
    assert pipeline.index(load_config(config_path))["deleted"] == len(gone)
    assert store.outbox.count() == 0
    assert not set(gone) & set(documents(stub))
