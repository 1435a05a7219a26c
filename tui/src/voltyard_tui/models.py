"""Typed views of the control API's JSON shapes (docs/api.md "Shapes"), parsed once at the edge.

The console never passes raw dicts to widgets: every answer is turned into these frozen dataclasses by
`client.py`, so a field the API renames breaks here, in one place, and not in a render method. Parsing is
lenient about absent optional fields (an older appliance may not send them) but not about types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Cabinet",
    "Charger",
    "ChargerDetail",
    "ConfigurationKey",
    "Connector",
    "Event",
    "Exchange",
    "Gun",
    "GunPlan",
    "Health",
    "Module",
    "Site",
    "Slot",
    "Transaction",
]

JsonObject = dict[str, Any]


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: object, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def _opt_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


@dataclass(frozen=True, slots=True)
class Connector:
    """One connector of a charger (connector 0 is the charger itself)."""

    connector_id: int
    status: str
    error_code: str
    availability: str
    info: str

    @classmethod
    def from_json(cls, data: JsonObject) -> Connector:
        return cls(
            connector_id=int(data.get("connector_id", 0)),
            status=_str(data.get("status")) or "Unknown",
            error_code=_str(data.get("error_code")) or "NoError",
            availability=_str(data.get("availability")),
            info=_str(data.get("info")),
        )


@dataclass(frozen=True, slots=True)
class Charger:
    """A charger as the chargers list shows it."""

    id: str
    registration: str
    connected: bool
    online: bool
    vendor: str
    model: str
    firmware_version: str
    last_seen: float | None
    security_profile: int | None
    connectors: tuple[Connector, ...]

    @property
    def faulted(self) -> bool:
        """The API's definition: any connector (or connector 0) is Faulted."""
        return any(c.status == "Faulted" for c in self.connectors)

    @property
    def state(self) -> str:
        """One word for the table and the filters: faulted wins over online, online over offline."""
        if self.faulted:
            return "faulted"
        return "online" if self.online else "offline"

    @classmethod
    def from_json(cls, data: JsonObject) -> Charger:
        return cls(
            id=str(data["id"]),
            registration=_str(data.get("registration")),
            connected=bool(data.get("connected")),
            online=bool(data.get("online")),
            vendor=_str(data.get("vendor")),
            model=_str(data.get("model")),
            firmware_version=_str(data.get("firmware_version")),
            last_seen=_opt_float(data.get("last_seen")),
            security_profile=_opt_int(data.get("security_profile")),
            connectors=tuple(Connector.from_json(c) for c in data.get("connectors") or ()),
        )


@dataclass(frozen=True, slots=True)
class ConfigurationKey:
    """One entry of a charger's configuration snapshot."""

    key: str
    value: str | None
    readonly: bool


@dataclass(frozen=True, slots=True)
class Transaction:
    """A charging session as the central system recorded it."""

    id: int
    charger_id: str
    connector_id: int
    id_tag: str
    meter_start: int | None
    start_time: float | None
    meter_stop: int | None
    stop_time: float | None
    stop_reason: str | None
    active: bool
    energy_wh: int | None

    @classmethod
    def from_json(cls, data: JsonObject) -> Transaction:
        return cls(
            id=int(data["id"]),
            charger_id=str(data.get("charger_id", "")),
            connector_id=int(data.get("connector_id") or 0),
            id_tag=_str(data.get("id_tag")),
            meter_start=_opt_int(data.get("meter_start")),
            start_time=_opt_float(data.get("start_time")),
            meter_stop=_opt_int(data.get("meter_stop")),
            stop_time=_opt_float(data.get("stop_time")),
            stop_reason=_opt_str(data.get("stop_reason")),
            active=bool(data.get("active")),
            energy_wh=_opt_int(data.get("energy_wh")),
        )


@dataclass(frozen=True, slots=True)
class ChargerDetail:
    """A charger with its boot fields, configuration snapshot and open sessions."""

    charger: Charger
    boot: JsonObject
    configuration: tuple[ConfigurationKey, ...]
    local_list_version: int | None
    active_transactions: tuple[Transaction, ...]

    @classmethod
    def from_json(cls, data: JsonObject) -> ChargerDetail:
        return cls(
            charger=Charger.from_json(data),
            boot=dict(data.get("boot") or {}),
            configuration=tuple(
                ConfigurationKey(str(c.get("key", "")), _opt_str(c.get("value")), bool(c.get("readonly")))
                for c in data.get("configuration") or ()
            ),
            local_list_version=_opt_int(data.get("local_list_version")),
            active_transactions=tuple(
                Transaction.from_json(t) for t in data.get("active_transactions") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One logged message exchange: the frame that opened it and, once there is one, its answer."""

    charger_id: str
    direction: str
    time: float
    message_type: str
    message_id: str
    action: str
    frame: str
    reply_type: str | None = None
    reply: str | None = None
    reply_time: float | None = None

    @classmethod
    def from_json(cls, data: JsonObject) -> Exchange:
        return cls(
            charger_id=_str(data.get("charger_id")),
            direction=_str(data.get("direction")),
            time=_float(data.get("time")),
            message_type=_str(data.get("message_type")),
            message_id=_str(data.get("message_id")),
            action=_str(data.get("action")),
            frame=_str(data.get("frame")),
            reply_type=_opt_str(data.get("reply_type")),
            reply=_opt_str(data.get("reply")),
            reply_time=_opt_float(data.get("reply_time")),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A domain event, from the sequenced log (`seq` set) or the live stream (`seq` None)."""

    kind: str
    charger_id: str | None
    time: float
    data: JsonObject = field(default_factory=dict)
    seq: int | None = None

    @classmethod
    def from_json(cls, data: JsonObject) -> Event:
        payload = data.get("data")
        return cls(
            kind=_str(data.get("kind")),
            charger_id=_opt_str(data.get("charger_id")),
            time=_float(data.get("time")),
            data=dict(payload) if isinstance(payload, dict) else {},
            seq=_opt_int(data.get("seq")),
        )


@dataclass(frozen=True, slots=True)
class Health:
    """The appliance's health summary (GET /health)."""

    status: str
    version: str
    uptime_s: float
    known: int
    connected: int
    online: int
    offline: int
    faulted: int
    active_transactions: int
    limit_kw: float | None
    power_kw: float
    event_loop_lag_ms: float

    @classmethod
    def from_json(cls, data: JsonObject) -> Health:
        chargers = data.get("chargers") or {}
        site = data.get("site") or {}
        return cls(
            status=_str(data.get("status")),
            version=_str(data.get("version")),
            uptime_s=_float(data.get("uptime_s")),
            known=int(chargers.get("known", 0)),
            connected=int(chargers.get("connected", 0)),
            online=int(chargers.get("online", 0)),
            offline=int(chargers.get("offline", 0)),
            faulted=int(chargers.get("faulted", 0)),
            active_transactions=int((data.get("transactions") or {}).get("active", 0)),
            limit_kw=_opt_float(site.get("limit_kw")),
            power_kw=_float(site.get("power_kw")),
            event_loop_lag_ms=_float(data.get("event_loop_lag_ms")),
        )


@dataclass(frozen=True, slots=True)
class Site:
    """The site's shared grid limit and what is drawn now (GET /site)."""

    limit_kw: float | None
    power_kw: float
    chargers_kw: float
    cabinet_kw: float

    @classmethod
    def from_json(cls, data: JsonObject) -> Site:
        return cls(
            limit_kw=_opt_float(data.get("limit_kw")),
            power_kw=_float(data.get("power_kw")),
            chargers_kw=_float(data.get("chargers_kw")),
            cabinet_kw=_float(data.get("cabinet_kw")),
        )


@dataclass(frozen=True, slots=True)
class Module:
    """One power module of a slot."""

    slot: int
    index: int
    healthy: bool
    tripped: bool
    temperature_c: float | None
    mn_closed: bool
    power_kw: float | None

    @classmethod
    def from_json(cls, data: JsonObject, slot: int, index: int) -> Module:
        return cls(
            slot=int(data.get("slot", slot)),
            index=int(data.get("index", index)),
            healthy=bool(data.get("healthy", True)),
            tripped=bool(data.get("tripped", False)),
            temperature_c=_opt_float(data.get("temperature_c")),
            mn_closed=bool(data.get("mn_closed", False)),
            power_kw=_opt_float(data.get("power_kw")),
        )


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot of the ring: its home gun, its modules and its contactors' feedback."""

    index: int
    home_gun: int | None
    modules: tuple[Module, ...]
    gc_closed: bool
    mc_closed: bool
    cw_closed: bool
    ccw_closed: bool


@dataclass(frozen=True, slots=True)
class Gun:
    """One DC gun: its session, what it delivers now and its health."""

    index: int
    name: str
    session: str
    voltage_v: float
    current_a: float
    power_kw: float
    max_power_kw: float | None
    safety_ok: bool
    comm_ok: bool
    connector_temperature_c: float | None

    @classmethod
    def from_json(cls, data: JsonObject, index: int) -> Gun:
        idx = int(data.get("index", index))
        return cls(
            index=idx,
            name=_str(data.get("name") or data.get("charger_id") or f"Gun {idx + 1}"),
            session=_str(data.get("session")) or "idle",
            voltage_v=_float(data.get("voltage_v")),
            current_a=_float(data.get("current_a")),
            power_kw=_float(data.get("power_kw")),
            max_power_kw=_opt_float(data.get("max_power_kw")),
            safety_ok=bool(data.get("safety_ok", True)),
            comm_ok=bool(data.get("comm_ok", True)),
            connector_temperature_c=_opt_float(data.get("connector_temperature_c")),
        )


@dataclass(frozen=True, slots=True)
class GunPlan:
    """The latest plan's decision for one gun: its island (slot indices) and its budget."""

    demand_kw: float
    budget_kw: float
    island: tuple[int, ...]
    limit: str


@dataclass(frozen=True, slots=True)
class Cabinet:
    """The DC cabinet (GET /cabinet); `configured` is False on a site without one."""

    configured: bool
    guns: tuple[Gun, ...] = ()
    slots: tuple[Slot, ...] = ()
    plan: tuple[GunPlan, ...] | None = None

    def island_of(self, slot: int) -> int | None:
        """The gun whose island holds `slot` in the latest plan, if any."""
        for gun, decision in enumerate(self.plan or ()):
            if slot in decision.island:
                return gun
        return None

    @classmethod
    def from_json(cls, data: JsonObject) -> Cabinet:
        if not data.get("configured"):
            return cls(configured=False)
        # Modules may come inside each slot or as one flat list naming their slot; accept both.
        flat: dict[int, list[Module]] = {}
        for i, raw in enumerate(data.get("modules") or ()):
            module = Module.from_json(raw, int(raw.get("slot", 0)), i)
            flat.setdefault(module.slot, []).append(module)
        slots = []
        for i, raw in enumerate(data.get("slots") or ()):
            index = int(raw.get("index", i))
            inner = tuple(Module.from_json(m, index, j) for j, m in enumerate(raw.get("modules") or ()))
            slots.append(
                Slot(
                    index=index,
                    home_gun=_opt_int(raw.get("home_gun")),
                    modules=inner or tuple(flat.get(index, ())),
                    gc_closed=bool(raw.get("gc_closed")),
                    mc_closed=bool(raw.get("mc_closed")),
                    cw_closed=bool(raw.get("cw_closed")),
                    ccw_closed=bool(raw.get("ccw_closed")),
                )
            )
        plan = data.get("plan")
        decisions = None
        if isinstance(plan, dict):
            decisions = tuple(
                GunPlan(
                    demand_kw=_float(g.get("demand_kw")),
                    budget_kw=_float(g.get("budget_kw")),
                    island=tuple(int(s) for s in g.get("island") or ()),
                    limit=_str(g.get("limit")),
                )
                for g in plan.get("guns") or ()
            )
        return cls(
            configured=True,
            guns=tuple(Gun.from_json(g, i) for i, g in enumerate(data.get("guns") or ())),
            slots=tuple(slots),
            plan=decisions,
        )
