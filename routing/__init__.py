"""Routing decides, from rules kept as data, which service queue a classified post goes to,
with a priority, a suggested action and an SLA due time. No match is an explicit outcome.
"""

from core.errors import RoutingConfigError
from routing.rules import Router, RoutingConfig, Rule, load_routing

__all__ = ["Router", "RoutingConfig", "RoutingConfigError", "Rule", "load_routing"]
