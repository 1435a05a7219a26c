"""What the console knows about the site, folded from the API's snapshots and live events.

One `SiteState` per app, owned by the App and read by the screens. It holds no widgets and does no I/O:
`apply` takes one stream event and says which charger it changed, so the screens can redraw one row
instead of the whole table when a thousand chargers chatter.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from voltyard_tui.models import CATEGORIES, Charger, Connector, Event, Health, Site, Transaction

__all__ = ["ALERT_KINDS", "CHATTY_KINDS", "Change", "SiteState"]

ALERT_KINDS = frozenset({"Alert", "Warning", "SecurityEvent"})
"""Event kinds the console raises as notifications as well as listing them."""

POWER_SAMPLES = 120
EVENT_BACKLOG = 1000
"""Events kept per category: ten plans a second cannot push an alert out of the console's memory."""
CHATTY_KINDS = frozenset({"MeterValues"})
"""Kinds that come many times a minute per charger: kept apart, like a category of their own."""
_CHATTY = "chatty"


@dataclass(frozen=True, slots=True)
class Change:
    """What changed in the state: `what` is chargers | health | sessions | event | events | connection."""

    what: str
    charger_id: str | None = None
    event: Event | None = None


class SiteState:
    """The chargers, the site power history and the recent events, as last heard from the API."""

    def __init__(self) -> None:
        self.chargers: dict[str, Charger] = {}
        self.health: Health | None = None
        self.site: Site | None = None
        self.power_history: deque[float] = deque(maxlen=POWER_SAMPLES)
        self.active_sessions: tuple[Transaction, ...] = ()
        self._events: dict[str, deque[Event]] = {
            name: deque(maxlen=EVENT_BACKLOG) for name in (*CATEGORIES, _CHATTY)
        }
        self.power_w: dict[tuple[str, int], float] = {}

    def load_chargers(self, chargers: Iterable[Charger]) -> None:
        self.chargers = {charger.id: charger for charger in chargers}

    def merge_charger(self, charger: Charger) -> Charger:
        """Fold a fuller record (GET /chargers/{id}) into what the stream built; the merged record."""
        known = self.chargers.get(charger.id)
        merged = charger if known is None else known.merged(charger)
        self.chargers[charger.id] = merged
        return merged

    def load_events(self, events: Iterable[Event]) -> None:
        """Replace the recent events with the log's tail (after a reconnect it has what the stream missed)."""
        for kept in self._events.values():
            kept.clear()
        for event in sorted(events, key=_order):
            self._keep(event)

    def _keep(self, event: Event) -> None:
        name = _CHATTY if event.kind in CHATTY_KINDS else event.category
        self._events.get(name, self._events["charger"]).append(event)

    @property
    def events(self) -> list[Event]:
        """Every kept event, oldest first."""
        return self.events_of(CATEGORIES, chatty=True)

    def events_of(self, categories: Iterable[str], *, chatty: bool = False) -> list[Event]:
        """The kept events of these categories, and the meter readings if asked; oldest first."""
        names = [*categories, *((_CHATTY,) if chatty else ())]
        return sorted((event for name in names for event in self._events.get(name, ())), key=_order)

    def update_health(self, health: Health, site: Site | None) -> None:
        self.health = health
        self.site = site
        self.power_history.append(site.power_kw if site is not None else health.power_kw)

    @property
    def limit_kw(self) -> float | None:
        if self.site is not None:
            return self.site.limit_kw
        return self.health.limit_kw if self.health is not None else None

    @property
    def power_kw(self) -> float:
        if self.site is not None:
            return self.site.power_kw
        return self.health.power_kw if self.health is not None else 0.0

    def counts(self) -> dict[str, int]:
        """online/offline/faulted as the table shows them (faulted chargers are not counted as online)."""
        counts = {"online": 0, "offline": 0, "faulted": 0}
        for charger in self.chargers.values():
            counts[charger.state] += 1
        return counts

    def apply(self, event: Event) -> str | None:
        """Fold one live event in; the id of the charger whose row changed, if any."""
        self._keep(event)
        charger_id = event.charger_id
        data = event.data
        if event.kind == "SiteLimitChanged" and self.site is not None:
            # camelCase since the appliance's typed events; a backlog from an older log says limit_kw.
            limit = data.get("limitKw", data.get("limit_kw"))
            if isinstance(limit, int | float):
                self.site = dataclasses.replace(self.site, limit_kw=float(limit))
            return None
        if charger_id is None:
            return None
        if event.kind == "MeterValues":
            power = data.get("powerW")
            if isinstance(power, int | float):
                self.power_w[charger_id, int(data.get("connectorId") or 0)] = float(power)
            return None
        charger = self.chargers.get(charger_id)
        if charger is None:
            if event.kind not in ("ChargerConnected", "ChargerBooted"):
                return None
            # A charger first heard of on the stream: a row with what we know until the next snapshot.
            charger = Charger(charger_id, "", True, True, "", "", "", event.time, None, ())
        updated = self._changed(charger, event)
        if updated is charger and charger_id in self.chargers:
            return None
        # Merge, never replace: the event's partial record keeps the security profile, availability, etc.
        self.chargers[charger_id] = charger.merged(updated)
        return charger_id

    @staticmethod
    def _changed(charger: Charger, event: Event) -> Charger:
        data = event.data
        kind = event.kind
        if kind == "ChargerConnected":
            return dataclasses.replace(charger, connected=True, online=True, last_seen=event.time)
        if kind == "ChargerDisconnected":
            return dataclasses.replace(charger, connected=False, online=False, last_seen=event.time)
        if kind == "HeartbeatRestored":
            return dataclasses.replace(charger, online=True, last_seen=event.time)
        if kind == "Alert" and data.get("kind") == "HeartbeatLost":
            return dataclasses.replace(charger, online=False)
        if kind == "ChargerBooted":
            return dataclasses.replace(
                charger,
                online=True,
                registration=str(data.get("status") or charger.registration),
                vendor=str(data.get("chargePointVendor") or charger.vendor),
                model=str(data.get("chargePointModel") or charger.model),
                firmware_version=str(data.get("firmwareVersion") or charger.firmware_version),
                last_seen=event.time,
            )
        if kind == "ConnectorStatusChanged":
            connector_id = data.get("connectorId")
            if not isinstance(connector_id, int):
                return charger
            new = Connector(
                connector_id,
                str(data.get("status") or "Unknown"),
                str(data.get("errorCode") or "NoError"),
                "",
                "",
            )
            connectors = {c.connector_id: c for c in charger.connectors}
            old = connectors.get(connector_id)
            if old is not None:
                new = dataclasses.replace(old, status=new.status, error_code=new.error_code)
            connectors[connector_id] = new
            return dataclasses.replace(
                charger, connectors=tuple(connectors[k] for k in sorted(connectors)), last_seen=event.time
            )
        return charger

    def charger_power_kw(self, charger_id: str) -> float:
        return sum(w for (cid, _), w in self.power_w.items() if cid == charger_id) / 1000


def _order(event: Event) -> tuple[float, int]:
    # Sequenced events by seq within a time; a live one (no seq yet) after the logged ones of its time.
    return (event.time, event.seq if event.seq is not None else 2**62)
