"""Every error Earshot raises on purpose, under one base class.

Each error's message names what failed and where (the file and key, the source, the post id),
so that the CLI can print it as one line and an operator can act on it.
"""

from __future__ import annotations

from datetime import datetime


class EarshotError(Exception):
    """Base class of every error Earshot raises on purpose."""


class ConfigError(EarshotError):
    """A configuration file is missing, unreadable or inconsistent; the message names the file
    and the key."""


class RoutingConfigError(ConfigError):
    """The routing file is invalid; the message names the rule and the field."""


class RecordError(EarshotError):
    """One input record could not be normalized; the message says which field and why."""


class NotAMention(RecordError):
    """A well-formed record that is no mention to keep: deleted or removed before Earshot saw
    it. Listeners skip it (counted in a log line), never dead-letter it."""


class ListenerError(EarshotError):
    """A source could not be read; the message names the source and what failed."""


class ListenerAuthError(ListenerError):
    """The credentials were refused or are missing. Retrying will not help."""


class RateLimited(ListenerError):
    """The platform asked us to wait until ``reset_at``."""

    def __init__(self, message: str, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class ClassificationError(EarshotError):
    """A classifier failed on a batch, or is configured or registered wrongly."""


class UnknownClassifierError(ClassificationError):
    """No classifier is registered under the requested name."""


class ModelMissingError(ClassificationError):
    """A trained model file is missing: run ``earshot train`` (or ``make models``)."""


class StoreError(EarshotError):
    """A store operation failed."""


class NotFoundError(StoreError):
    """The post, batch or queue item asked for does not exist."""


class TransitionError(StoreError):
    """A queue item cannot move from its current status to the requested one."""


class ConflictError(StoreError):
    """Someone else changed the item first (a concurrent claim, for example)."""


class MigrationError(StoreError):
    """The database schema could not be brought to the current version."""


class SearchError(EarshotError):
    """The search index failed, or a search request is invalid."""


class InputError(EarshotError):
    """An input file is unusable (unreadable, wrong format); the message names it."""


class InvalidValueError(EarshotError):
    """A value the caller gave (a label, a file path, a limit) is not one Earshot accepts.
    The CLI exits with 2 for it, as for any other usage error."""


class AccessError(EarshotError):
    """A console or API request was refused: not logged in, or not allowed."""


class AuthenticationError(AccessError):
    """Wrong name or password, or a session or API token that is unknown, expired or revoked."""


class LoginThrottledError(AuthenticationError):
    """Too many failed logins for a name or from an address: wait ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDeniedError(AccessError):
    """The user's role (or teams) does not allow this; the message says what is missing."""
