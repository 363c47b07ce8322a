"""Spikes of a new issue, checked every hour: each intent's and each emerging phrase's volume
in the last complete hour against its usual volume for that hour; alerts are stored (``earshot
alerts``) and sent to the webhook of ``config/insights.yaml`` if one is set."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    schedule=timedelta(hours=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot", "marketing"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2)},
    doc_md=__doc__,
)
def spike_watch() -> None:
    @task
    def check() -> int:
        from core.config import load_config
        from services import insights

        return len(insights.check_spikes(load_config()))

    check()


spike_watch()
