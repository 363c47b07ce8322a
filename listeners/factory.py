"""Building the listener a source's configuration describes (the one entry point services use).

Kept apart from :mod:`listeners.base` so that the interface does not import the listeners that
implement it; the live listeners (and tweepy, praw) are imported only when such a source is
built.
"""

from __future__ import annotations

from pathlib import Path

from core.config import RedditSourceConfig, ReplaySourceConfig, XSourceConfig
from core.errors import ConfigError
from listeners.base import Listener


def build_listener(
    source: ReplaySourceConfig | XSourceConfig | RedditSourceConfig, *, base_dir: Path
) -> Listener:
    """Create the listener for ``source``; replay paths are relative to ``base_dir`` (the
    folder of the configuration file, ``Config.base_dir``).

    Raises :class:`ListenerAuthError` when a live source has no credentials, and
    :class:`ConfigError` when the source cannot work as configured.
    """
    if isinstance(source, ReplaySourceConfig):
        from listeners.replay import ReplayListener

        return ReplayListener(
            name=source.name, network=source.network, paths=source.paths, base_dir=base_dir
        )
    if isinstance(source, XSourceConfig):
        from listeners.x import XListener

        return XListener.from_config(source)
    if isinstance(source, RedditSourceConfig):
        from listeners.reddit import RedditListener

        return RedditListener.from_config(source)
    raise ConfigError(
        f"source {getattr(source, 'name', source)!r}: no listener for {type(source).__name__}"
        " (known types: replay, x, reddit)"
    )
