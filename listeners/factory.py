"""The listener a source's configuration describes."""

from __future__ import annotations

from pathlib import Path

from core.config import RedditSourceConfig, ReplaySourceConfig, XSourceConfig
from listeners.base import Listener


def build_listener(
    source: ReplaySourceConfig | XSourceConfig | RedditSourceConfig, *, base_dir: Path
) -> Listener:
    """Create the listener for ``source``; replay paths are relative to ``base_dir``.

    The live listeners (and tweepy, praw) are imported only when such a source is configured.
    """
    if isinstance(source, ReplaySourceConfig):
        from listeners.replay import ReplayListener

        return ReplayListener(
            name=source.name, network=source.network, paths=source.paths, base_dir=base_dir
        )
    if isinstance(source, XSourceConfig):
        from listeners.x import XListener

        return XListener.from_config(source)
    from listeners.reddit import RedditListener

    return RedditListener.from_config(source)
