"""The social_listening DAG: it imports cleanly, stays thin, and runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from storage import SqlStore
from tests.conftest import ROOT, sample_labels

DAGS = ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=DAGS)


def test_dag_folder_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert {"social_listening", "social_compliance", "search_reindex", "care_sla"} <= set(
        dagbag.dags
    )


def test_dag_wires_one_lane_per_listener_type(dagbag) -> None:
    dag = dagbag.dags["social_listening"]
    for kind, pool in (("replay", "default_pool"), ("x", "x_api"), ("reddit", "reddit_api")):
        assert dag.get_task(f"collect_{kind}").pool == pool
        assert dag.get_task(f"collect_{kind}").upstream_task_ids == {"start", f"{kind}_sources"}
        assert dag.get_task(f"classify_{kind}").upstream_task_ids == {f"collect_{kind}"}
        assert dag.get_task(f"store_{kind}").upstream_task_ids == {f"classify_{kind}"}
        assert dag.get_task(f"route_{kind}").upstream_task_ids == {f"store_{kind}"}
    # The search index catches up once every lane has routed, then the run is summed up.
    assert dag.get_task("index").upstream_task_ids == {"route_replay", "route_x", "route_reddit"}
    assert dag.get_task("check_sla").upstream_task_ids == {"start", "index"}
    assert dag.get_task("finish").upstream_task_ids == {"start", "check_sla"}
    assert all(task.retries == 2 for task in dag.tasks)
    assert dag.max_active_runs == 1 and not dag.catchup


def test_compliance_dag_checks_live_sources_in_their_pools(dagbag) -> None:
    dag = dagbag.dags["social_compliance"]
    assert {t.task_id: t.pool for t in dag.tasks if t.task_id.startswith("check_")} == {
        "check_x": "x_api",
        "check_reddit": "reddit_api",
    }


def test_reindex_dag_sets_up_then_reindexes_on_demand(dagbag) -> None:
    dag = dagbag.dags["search_reindex"]
    assert dag.schedule is None or str(dag.timetable.summary) == "None"
    assert dag.get_task("reindex").upstream_task_ids == {"setup"}


def test_dag_file_parses_without_heavy_imports() -> None:
    code = textwrap.dedent(
        f"""
        import runpy, sys
        runpy.run_path({str(DAGS / "social_listening.py")!r})
        runpy.run_path({str(DAGS / "social_compliance.py")!r})
        runpy.run_path({str(DAGS / "search_reindex.py")!r})
        heavy = ["torch", "transformers", "spacy", "vaderSentiment", "storage", "services", "nlp", "listeners"]
        print([m for m in heavy if m in sys.modules])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_dag_test_runs_the_sample_corpus_end_to_end(tmp_path: Path) -> None:
    env = os.environ | {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "EARSHOT_CONFIG": str(ROOT / "earshot.yaml"),
        "EARSHOT_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("EARSHOT_DATABASE_URL", None)
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    script = textwrap.dedent(
        f"""
        import json
        from airflow.dag_processing.dagbag import DagBag
        dag = DagBag(dag_folder={str(DAGS)!r}).get_dag("social_listening")
        states = [str(dag.test().state) for _ in range(2)]
        print("STATES " + json.dumps(states))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    states = json.loads(result.stdout.split("STATES ")[-1])
    assert states == ["success", "success"], result.stdout[-3000:]

    store = SqlStore.open(f"sqlite:///{tmp_path / 'home' / 'earshot.db'}")
    expected = len(sample_labels())
    assert store.posts.count() == expected
    assert sum(store.queues.counts().values()) == expected
    assert len(store.dead_letters.list()) == 4
    assert store.outbox.count() == 0  # the index task sent every change to the search index
    last = store.staging.last_run()
    assert (
        last is not None and last["summary"]["new_posts"] == 0
    )  # the second run found nothing new


def test_care_sla_dag_checks_every_five_minutes(dagbag) -> None:
    dag = dagbag.dags["care_sla"]
    assert [t.task_id for t in dag.tasks] == ["check_sla"]
    assert dag.timetable.delta == timedelta(minutes=5)
    assert dag.max_active_runs == 1 and not dag.catchup


def test_marketing_dags_score_daily_and_watch_spikes_hourly(dagbag) -> None:
    daily, hourly = dagbag.dags["marketing_insights"], dagbag.dags["spike_watch"]
    assert [t.task_id for t in daily.tasks] == ["score"]
    assert daily.timetable.delta == timedelta(days=1)
    assert [t.task_id for t in hourly.tasks] == ["check"]
    assert hourly.timetable.delta == timedelta(hours=1)
