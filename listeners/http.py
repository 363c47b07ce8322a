"""HTTP plumbing shared by the live listeners: timeouts, bounded retries, secret-free logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_TIMEOUT = (5.0, 30.0)
"""Seconds to connect and to wait for each read: a hung server never blocks a worker."""

# Loggers that print request headers or bodies at DEBUG (tweepy logs the bearer token).
CHATTY_LOGGERS = (
    "tweepy.client",
    "prawcore",
    "prawcore.sessions",
    "praw",
    "urllib3.connectionpool",
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]{8,}")


class ApiAdapter(HTTPAdapter):
    """An adapter with a default timeout, bounded retries for 5xx and connection errors (never
    for 429: rate limits are the listener's to handle), and an optional base-URL rewrite so that
    a client with a hard-coded host can be pointed at a local server."""

    def __init__(
        self,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.5,
        rewrite: tuple[str, str] | None = None,
    ) -> None:
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            backoff_factor=backoff,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        super().__init__(max_retries=retry)
        self.timeout = timeout
        self.rewrite = rewrite

    def send(self, request: PreparedRequest, **kwargs: Any) -> Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.rewrite and request.url and request.url.startswith(self.rewrite[0]):
            request.url = self.rewrite[1] + request.url[len(self.rewrite[0]) :]
        return super().send(request, **kwargs)


def mount(session: Session, adapter: ApiAdapter) -> Session:
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SecretFilter(logging.Filter):
    """Replaces known secrets, and anything after ``Bearer``, with ``***`` in log records."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _BEARER.sub(r"\1***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = SecretFilter()


def protect_secret(secret: str | None) -> None:
    """Keep ``secret`` out of every log line of the HTTP client libraries, at any level."""
    _FILTER.add(secret)
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrub(text: str) -> str:
    """Remove protected secrets from a string (for error messages)."""
    return _FILTER.scrub(text)
