"""Marketing's lists, refreshed daily: advocates, super-users and detractors scored over the
stored posts (see ``config/insights.yaml``), replacing the previous day's lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(
    schedule=timedelta(days=1),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot", "marketing"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    doc_md=__doc__,
)
def marketing_insights() -> None:
    @task
    def score() -> dict[str, int]:
        from core.config import load_config
        from services import insights

        return insights.score(load_config())

    score()


marketing_insights()
