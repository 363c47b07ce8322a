"""Marketing insights: advocates, super-users and detractors scored from the stored posts,
and spikes of a new issue. Pure functions over streams of :class:`core.insights.Activity`;
the services layer reads the store and writes the results back."""

from insights.authors import score_authors
from insights.config import InsightSettings, load_insights
from insights.spikes import check_hour, detect, hour_start, phrases
from insights.superusers import is_question, score_superusers

__all__ = [
    "InsightSettings",
    "check_hour",
    "detect",
    "hour_start",
    "is_question",
    "load_insights",
    "phrases",
    "score_authors",
    "score_superusers",
]
