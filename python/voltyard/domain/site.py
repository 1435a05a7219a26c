"""The site: one grid limit (kW) shared by the networked chargers and the DC cabinet, and the power drawn now.

The limit is persisted and changed live; the power manager (issue 6) subscribes to its changes. The power
drawn is the sum of the chargers' latest metered power plus the cabinet's.
"""

from __future__ import annotations

from collections.abc import Callable

from voltyard.domain.transactions import Transactions
from voltyard.events.bus import EventBus
from voltyard.events.kinds import SiteLimitChanged
from voltyard.store import site as site_store
from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = ["Site"]

_DEFAULT_LIMIT_KW = 1000.0


class Site:
    """See the module docstring."""

    def __init__(self, store: StoreWriter, events: EventBus, transactions: Transactions) -> None:
        self._store = store
        self._events = events
        self._transactions = transactions
        self.limit_kw = _DEFAULT_LIMIT_KW
        self.cabinet_kw: Callable[[], float] = lambda: 0.0
        # Charge points whose power is the cabinet's (its guns): counted once, in cabinet_kw.
        self.own_charge_points: frozenset[str] = frozenset()

    def load(self, conn: Connection) -> None:
        stored = site_store.load_limit_kw(conn)
        if stored is not None:
            self.limit_kw = stored

    async def set_limit(self, limit_kw: float, operator: str | None = None) -> None:
        """Change the site limit (durable before it takes effect); audited with who changed it."""
        if not 0 <= limit_kw <= 1_000_000:
            raise ValueError(f"limit_kw must be within 0..1000000, got {limit_kw}")
        await self._store.durable(lambda conn: site_store.save_limit_kw(conn, limit_kw))
        previous, self.limit_kw = self.limit_kw, limit_kw
        self._events.publish(SiteLimitChanged(None, limit_kw, previous, operator))

    def chargers_kw(self) -> float:
        own = self.own_charge_points
        return (
            sum(w for (charger_id, _), w in self._transactions.power_w.items() if charger_id not in own)
            / 1000.0
        )

    def power_kw(self) -> float:
        return self.chargers_kw() + self.cabinet_kw()
