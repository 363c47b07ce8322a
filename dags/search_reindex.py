"""Rebuild the search index from the store (triggered by hand: after a mapping change, a new
cluster, or a restore). Set up the index (templates, ILM policy, write alias; idempotent), then
queue every stored post in the outbox and send it. Resumable: a failed run leaves the outbox
for the next run of this DAG or of social_listening's index step."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot", "search"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    doc_md=__doc__,
)
def search_reindex() -> None:
    @task
    def setup() -> list[str]:
        from core.config import load_config
        from services import runtime

        return runtime.setup_search(load_config())

    @task
    def reindex() -> dict[str, int]:
        from core.config import load_config
        from services import pipeline

        return pipeline.reindex(load_config())

    setup() >> reindex()


search_reindex()
