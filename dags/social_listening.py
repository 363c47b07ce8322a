"""Earshot's listening cycle: per listener type, collect (one task per source) -> classify ->
store -> route (routing opens and grows cases); then index (the search index catches up from
the outbox), check_sla (flags cases past their due time) and finish.

Each task calls one function of :mod:`services.pipeline`; XCom carries batch ids and counts
only. A source's new posts are staged as batches of ``pipeline.batch_size``; each step works
through its source's batches in order. Live sources run in an Airflow pool per platform
(``x_api``, ``reddit_api``) so that parallel runs never exceed a platform's rate limits;
replayed sources use the default pool.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import TriggerRule, dag, task


@dag(
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["earshot"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def social_listening() -> None:
    @task
    def start(run_id: str | None = None) -> str:
        from core.config import load_config
        from services import pipeline, runtime

        config = load_config()
        runtime.check(config)  # a bad routing rule or classifier name fails here, before work
        cycle = pipeline.start_run(config, owner=f"airflow:{run_id}")
        pipeline.recover(config, cycle)  # finish what an earlier, failed DAG run left
        return cycle

    @task
    def sources(kind: str) -> list[str]:
        from core.config import load_config

        return load_config().source_names(kind=kind)

    @task
    def collect(
        source: str, cycle: str, data_interval_end: datetime | None = None
    ) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from core.config import load_config
        from core.errors import ListenerAuthError
        from services import pipeline

        try:
            return pipeline.collect_all(load_config(), source, cycle, until=data_interval_end)
        except ListenerAuthError as e:
            raise AirflowFailException(str(e)) from None  # retrying bad credentials only hurts

    @task
    def classify(batch: dict[str, Any]) -> dict[str, Any]:
        from core.config import load_config
        from services import pipeline

        return pipeline.classify_all(load_config(), batch)

    @task
    def store(batch: dict[str, Any]) -> dict[str, Any]:
        from core.config import load_config
        from services import pipeline

        return pipeline.store_all(load_config(), batch)

    @task
    def route(batch: dict[str, Any]) -> dict[str, Any]:
        from core.config import load_config
        from services import pipeline

        return pipeline.route_all(load_config(), batch)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def index() -> dict[str, int]:
        from core.config import load_config
        from services import pipeline

        return pipeline.index(load_config())

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def check_sla(cycle: str) -> dict[str, int]:
        from core.config import load_config
        from services import pipeline

        return pipeline.check_sla(load_config(), cycle)

    # ALL_DONE: a DAG run whose steps failed is still marked finished, so that the next one
    # finishes its batches at once instead of waiting for them to go stale.
    @task(trigger_rule=TriggerRule.ALL_DONE)
    def finish(cycle: str) -> dict[str, Any]:
        from core.config import load_config
        from services import pipeline, reports

        config = load_config()
        summary = pipeline.finish_run(config, cycle)
        print(reports.format_report(config, summary))
        return {"cycle": cycle, "new_posts": summary["new_posts"]}

    cycle = start()
    indexed = index()
    sla = check_sla(cycle)  # type: ignore[arg-type]  # XComArgs resolve at run time
    indexed >> sla >> finish(cycle)  # type: ignore[arg-type]  # XComArgs resolve at run time
    # One lane per listener type; a type with no configured source is skipped as a whole.
    for kind, pool in (("replay", "default_pool"), ("x", "x_api"), ("reddit", "reddit_api")):
        names = sources.override(task_id=f"{kind}_sources")(kind)
        batches = (
            collect.override(task_id=f"collect_{kind}", pool=pool)
            .partial(cycle=cycle)
            .expand(source=names)
        )
        classified = classify.override(task_id=f"classify_{kind}").expand(batch=batches)
        stored = store.override(task_id=f"store_{kind}").expand(batch=classified)
        route.override(task_id=f"route_{kind}").expand(batch=stored) >> indexed


social_listening()
