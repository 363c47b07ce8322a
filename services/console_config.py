"""What the console's configuration page shows: the queues with their response-time promises,
the author tiers, the routing rules in the order they are tried, and the listening sources.
Read-only; for administrators (the ``configuration`` capability). Webhook addresses may hold
secrets, so only whether a queue has one is shown."""

from __future__ import annotations

from typing import Any

from core.config import Config
from services.console import Caller, require
from services.runtime import router


def configuration(config: Config, caller: Caller) -> dict[str, Any]:
    require(caller, "configuration", what="see the configuration")
    routing = router(config).config
    return {
        "queues": [
            {
                "name": q.name,
                "sla_minutes": q.sla_minutes,
                "tier_sla": dict(q.tier_sla),
                "hours": None if q.hours is None else q.hours.name,
                "timezone": None if q.hours is None else q.hours.timezone,
                "webhook": q.webhook is not None,
            }
            for q in routing.queues.values()
        ],
        "tiers": [
            {
                "name": t.name,
                "handles": len(t.handles),
                "min_followers": t.min_followers,
                "sla_factor": t.sla_factor,
                "priority_bonus": t.priority_bonus,
            }
            for t in routing.tiers
        ],
        "rules": [
            {"name": r.name, "queue": r.queue, "action": r.action, "priority": r.priority}
            for r in routing.rules
        ],
        "unmatched_priority": routing.unmatched_priority,
        "sources": [{"name": s.name, "type": s.type, "network": s.network} for s in config.sources],
        "search_backend": config.search_backend,
    }


__all__ = ["configuration"]
