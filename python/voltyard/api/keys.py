"""The application keys through which handlers reach the services they use, one key a service.

runtime.py (the composition root) builds the services and hands them to `create_app` as one `ApiServices`;
the API knows each by the narrowest type it reads, never the appliance that holds them: it imports neither
runtime nor gateway (tests/unit/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from voltyard.api.tokens import TokenRing
from voltyard.domain.authorization import Authorization
from voltyard.domain.chargers import Chargers
from voltyard.domain.credentials import Credentials
from voltyard.domain.site import Site
from voltyard.domain.transactions import Transactions
from voltyard.events.bus import EventBus
from voltyard.loop_monitor import LoopMonitor
from voltyard.metrics import Metrics
from voltyard.ocpp.commands import Commands
from voltyard.ocpp.leniency import Leniency
from voltyard.ocpp.registry import Registry
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

if TYPE_CHECKING:
    from voltyard.api.stream import EventStream

__all__ = [
    "AUTHORIZATION",
    "CABINET",
    "CHARGERS",
    "COMMANDS",
    "CREDENTIALS",
    "EVENTS",
    "LENIENCY",
    "LOOP_MONITOR",
    "OCPP_METRICS",
    "READER",
    "REFUSED",
    "SESSIONS",
    "SITE",
    "STARTED_AT",
    "STORE",
    "STREAM",
    "TOKENS",
    "TRANSACTIONS",
    "Refused",
]


class Refused(Protocol):
    """What the listeners and the dispatcher refused so far (for /metrics)."""

    @property
    def frames(self) -> int: ...

    @property
    def handshakes(self) -> int: ...

    @property
    def unknown_chargers(self) -> int: ...


# A read-only connection to the store's file (WAL lets it read beside the writer); the caller closes it.
Reader = Callable[[], Connection]
# The DC cabinet's view (its guns, slots, modules and plan), or `configured: false`.
CabinetView = Callable[[], dict[str, object]]
# The uplink's state for /health (voltyard.uplink), or `enabled: false` when none is configured.
UplinkView = Callable[[], dict[str, Any]]

CHARGERS: web.AppKey[Chargers] = web.AppKey("chargers", Chargers)
TRANSACTIONS: web.AppKey[Transactions] = web.AppKey("transactions", Transactions)
AUTHORIZATION: web.AppKey[Authorization] = web.AppKey("authorization", Authorization)
CREDENTIALS: web.AppKey[Credentials] = web.AppKey("credentials", Credentials)
SITE: web.AppKey[Site] = web.AppKey("site", Site)
EVENTS: web.AppKey[EventBus] = web.AppKey("events", EventBus)
STORE: web.AppKey[StoreWriter] = web.AppKey("store", StoreWriter)
COMMANDS: web.AppKey[Commands] = web.AppKey("commands", Commands)
SESSIONS: web.AppKey[Registry] = web.AppKey("sessions", Registry)
LENIENCY: web.AppKey[Leniency] = web.AppKey("leniency", Leniency)
OCPP_METRICS: web.AppKey[Metrics] = web.AppKey("ocpp_metrics", Metrics)
REFUSED: web.AppKey[Refused] = web.AppKey("refused")
LOOP_MONITOR: web.AppKey[LoopMonitor] = web.AppKey("loop_monitor", LoopMonitor)
READER: web.AppKey[Reader] = web.AppKey("reader")
CABINET: web.AppKey[CabinetView] = web.AppKey("cabinet")
UPLINK: web.AppKey[UplinkView] = web.AppKey("uplink")
STARTED_AT: web.AppKey[float] = web.AppKey("started_at", float)  # time.monotonic() at start
TOKENS: web.AppKey[TokenRing] = web.AppKey("tokens", TokenRing)
STREAM: web.AppKey[EventStream] = web.AppKey("stream")
