"""Watch the care team's promises every five minutes: flag open cases that passed their SLA
with no response (a flag on the case, a log line, a metric, the queue's webhook) and raise
waiting cases' priority. The listening cycle runs the same check after each run."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot", "care"],
    default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def care_sla() -> None:
    @task
    def check_sla() -> dict[str, int]:
        from core.config import load_config
        from services import pipeline

        return pipeline.check_sla(load_config())

    check_sla()


care_sla()
