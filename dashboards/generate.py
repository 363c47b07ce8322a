"""Writes ``dashboards/earshot.ndjson``: Kibana 9 saved objects for analysts over the Earshot
index (the write alias ``earshot-posts``).

- a data view on ``earshot-posts`` (time field ``created_at``);
- one saved search per service queue: its new and claimed items, newest first, with the
  columns an agent needs;
- Lens visualisations: volume by sentiment over time, intents over time, the queue backlog,
  SLA breaches (open items past their due time, by queue), the share of posts moved to a
  private channel, the top authors;
- the dashboard "Earshot: social care overview" that arranges them.

Run ``python dashboards/generate.py`` after changing it; ``tests/dashboards`` checks that the
file is what this script writes, and lints it against the index mapping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "earshot.ndjson"
DATA_VIEW = "earshot-posts"
QUEUES = ["billing", "logistics", "care", "sales", "retention", "marketing", "partners",
          "unmatched"]  # fmt: skip
AGENT_COLUMNS = ["priority", "sla_due", "author.handle", "intent", "sentiment", "status", "text"]
VERSIONS = {"coreMigrationVersion": "8.8.0"}


def data_view() -> dict[str, Any]:
    return {
        "id": DATA_VIEW,
        "type": "index-pattern",
        "attributes": {
            "title": DATA_VIEW,
            "name": "Earshot posts",
            "timeFieldName": "created_at",
        },
        "references": [],
        **VERSIONS,
        "typeMigrationVersion": "8.0.0",
    }


def queue_search(queue: str) -> dict[str, Any]:
    source = {
        "query": {
            "language": "kuery",
            "query": f'queue : "{queue}" and status : ("new" or "claimed")',
        },
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return {
        "id": f"earshot-queue-{queue}",
        "type": "search",
        "attributes": {
            "title": f"Earshot queue: {queue} (open)",
            "description": f"New and claimed items of the {queue} queue, most urgent first.",
            "columns": AGENT_COLUMNS,
            "sort": [["priority", "desc"], ["created_at", "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
        },
        "references": [
            {
                "id": DATA_VIEW,
                "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                "type": "index-pattern",
            }
        ],
        **VERSIONS,
        "typeMigrationVersion": "10.5.0",
    }


def _count() -> dict[str, Any]:
    return {
        "label": "Posts",
        "customLabel": True,
        "dataType": "number",
        "isBucketed": False,
        "operationType": "count",
        "sourceField": "___records___",
        "params": {"emptyAsNull": True},
    }


def _terms(field: str, label: str, size: int) -> dict[str, Any]:
    return {
        "label": label,
        "customLabel": True,
        "dataType": "string",
        "isBucketed": True,
        "operationType": "terms",
        "sourceField": field,
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": "count"},
            "orderDirection": "desc",
            "missingBucket": False,
            "otherBucket": True,
        },
    }


def _over_time() -> dict[str, Any]:
    return {
        "label": "created_at",
        "dataType": "date",
        "isBucketed": True,
        "operationType": "date_histogram",
        "sourceField": "created_at",
        "params": {"interval": "auto"},
    }


def lens(
    object_id: str,
    title: str,
    kind: str,
    columns: dict[str, dict[str, Any]],
    visualization: dict[str, Any],
    query: str = "",
) -> dict[str, Any]:
    layer = {"columnOrder": list(columns), "columns": columns, "incompleteColumns": {}}
    return {
        "id": object_id,
        "type": "lens",
        "attributes": {
            "title": title,
            "description": "",
            "visualizationType": kind,
            "state": {
                "datasourceStates": {"formBased": {"layers": {"layer1": layer}}},
                "visualization": visualization,
                "query": {"language": "kuery", "query": query},
                "filters": [],
                "adHocDataViews": {},
                "internalReferences": [],
            },
        },
        "references": [
            {
                "id": DATA_VIEW,
                "name": "indexpattern-datasource-layer-layer1",
                "type": "index-pattern",
            }
        ],
        **VERSIONS,
        "typeMigrationVersion": "8.9.0",
    }


def _xy(series: str, x: str, split: str | None) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "layerId": "layer1",
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": ["count"],
    }
    if split:
        layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": series,
        "layers": [layer],
    }


def visualisations() -> list[dict[str, Any]]:
    return [
        lens(
            "earshot-volume-by-sentiment",
            "Volume by sentiment",
            "lnsXY",
            {"time": _over_time(), "split": _terms("sentiment", "Sentiment", 3), "count": _count()},
            _xy("bar_stacked", "time", "split"),
        ),
        lens(
            "earshot-intents-over-time",
            "Intents over time",
            "lnsXY",
            {"time": _over_time(), "split": _terms("intent", "Intent", 12), "count": _count()},
            _xy("area_stacked", "time", "split"),
        ),
        lens(
            "earshot-queue-backlog",
            "Queue backlog (new and claimed)",
            "lnsXY",
            {
                "queue": _terms("queue", "Queue", 10),
                "split": _terms("status", "Status", 2),
                "count": _count(),
            },
            _xy("bar_horizontal_stacked", "queue", "split"),
            'status : ("new" or "claimed")',
        ),
        lens(
            "earshot-sla-breaches",
            "SLA breaches (open items past their due time)",
            "lnsXY",
            {"queue": _terms("queue", "Queue", 10), "count": _count()},
            _xy("bar_horizontal", "queue", None),
            'status : ("new" or "claimed") and sla_due < "now"',
        ),
        lens(
            "earshot-moved-private",
            "Share moved to a private channel",
            "lnsPie",
            {"private": _terms("private", "Moved private", 2), "count": _count()},
            {
                "shape": "donut",
                "layers": [
                    {
                        "layerId": "layer1",
                        "layerType": "data",
                        "primaryGroups": ["private"],
                        "metrics": ["count"],
                        "numberDisplay": "percent",
                        "categoryDisplay": "default",
                        "legendDisplay": "default",
                    }
                ],
            },
        ),
        lens(
            "earshot-top-authors",
            "Top authors",
            "lnsXY",
            {"author": _terms("author.handle", "Author", 15), "count": _count()},
            _xy("bar_horizontal", "author", None),
        ),
    ]


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    layout = []
    references = []
    for i, panel in enumerate(panels):
        ref = f"panel_{i}"
        layout.append(
            {
                "type": panel["type"],
                "panelRefName": ref,
                "panelIndex": str(i),
                "gridData": {"x": (i % 2) * 24, "y": (i // 2) * 15, "w": 24, "h": 15, "i": str(i)},
                "embeddableConfig": {},
            }
        )
        references.append({"id": panel["id"], "name": ref, "type": panel["type"]})
    return {
        "id": "earshot-overview",
        "type": "dashboard",
        "attributes": {
            "title": "Earshot: social care overview",
            "description": "Volume, intents, backlog, private share, top authors, care queue.",
            "panelsJSON": json.dumps(layout),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-7d",
            "timeTo": "now",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps(
                    {"query": {"language": "kuery", "query": ""}, "filter": []}
                )
            },
        },
        "references": references,
        **VERSIONS,
        "typeMigrationVersion": "10.2.0",
    }


def saved_objects() -> list[dict[str, Any]]:
    searches = [queue_search(q) for q in QUEUES]
    charts = visualisations()
    care = next(s for s in searches if s["id"] == "earshot-queue-care")
    return [data_view(), *searches, *charts, dashboard([*charts, care])]


def render() -> str:
    return "".join(
        json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in saved_objects()
    )


def main() -> None:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {len(saved_objects())} saved objects to {OUTPUT}")


if __name__ == "__main__":
    main()
