"""A live source's cursor: times written with ``Z``, older ``+00:00`` cursors still read."""

from __future__ import annotations

from datetime import UTC, datetime

from listeners.state import SourceState

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_state_reads_cursor_times_saved_with_an_offset() -> None:
    state = SourceState.from_cursor(
        {
            "streams": {"search:Halden": {"since_id": "5"}},
            "last_success": "2026-11-20T12:00:00+00:00",
            "rate_limited_until": "2026-11-20T13:00:00+01:00",
            "gaps": [],
        }
    )
    assert state.last_success == NOW
    assert state.rate_limited_until == NOW
    assert state.streams == {"search:Halden": {"since_id": "5"}}


def test_state_writes_cursor_times_with_z() -> None:
    state = SourceState(last_success=NOW)
    state.add_gap(NOW, NOW.replace(hour=13), "backlog")
    assert state.to_cursor() == {
        "streams": {},
        "last_success": "2026-11-20T12:00:00Z",
        "rate_limited_until": None,
        "gaps": [
            {"from": "2026-11-20T12:00:00Z", "to": "2026-11-20T13:00:00Z", "reason": "backlog"}
        ],
    }


def test_state_empty_cursor_is_a_fresh_state() -> None:
    assert SourceState.from_cursor(None) == SourceState()
    assert SourceState.from_cursor({}).to_cursor()["last_success"] is None
