"""Textual messages that carry what the control API says into the app.

The client worker (`client.py`) posts these to the App; handlers in `app.py` fold them into the shared
`SiteState` and publish a signal for the screens. They are plain dataclasses (Textual's
`Message.__post_init__` initialises the base class), one per thing that happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from voltyard_tui.models import Charger, Event, Health, Site, Transaction

__all__ = [
    "ActiveSessionsLoaded",
    "ChargersLoaded",
    "EventsLoaded",
    "HealthUpdated",
    "StreamConnected",
    "StreamEventReceived",
    "StreamLost",
]


@dataclass
class StreamConnected(Message):
    """A stream (`events` or `messages`) is open again: what is shown from now on is live."""

    stream: str


@dataclass
class StreamLost(Message):
    """A stream dropped or could not be opened; the worker retries after `retry_in` seconds."""

    stream: str
    reason: str
    retry_in: float
    attempt: int


@dataclass
class StreamEventReceived(Message):
    """One event pushed by the appliance on `stream`."""

    stream: str
    event: Event


@dataclass
class ChargersLoaded(Message):
    """The full chargers list, fetched after each (re)connect so nothing missed while away stays stale."""

    chargers: tuple[Charger, ...]


@dataclass
class EventsLoaded(Message):
    """The most recent part of the appliance's sequenced event log, oldest first."""

    events: tuple[Event, ...]


@dataclass
class HealthUpdated(Message):
    """A poll of /health and /site."""

    health: Health
    site: Site | None

    # Polls can pile up behind a slow screen; only the newest matters.
    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HealthUpdated)


@dataclass
class ActiveSessionsLoaded(Message):
    """The open transactions, for the dashboard."""

    transactions: tuple[Transaction, ...]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ActiveSessionsLoaded)
