"""Typed views of the control API's JSON shapes (docs/api.md "Shapes"), parsed once at the edge.

The console never passes raw dicts to widgets: every answer is turned into these frozen dataclasses by
`client.py`, so a field the API renames breaks here, in one place, and not in a render method. Parsing is
lenient about absent optional fields (an older appliance may not send them) but not about types.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "CATEGORIES",
    "Alert",
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
    "IdTag",
    "Module",
    "Site",
    "Slot",
    "Transaction",
    "Uplink",
    "UplinkPoint",
    "format_age",
    "format_time",
    "iso_utc",
    "parse_time",
]

JsonObject = dict[str, Any]


CATEGORIES = ("alert", "operator", "charger", "transaction", "power")
"""The event categories the API tags every event with (docs/api.md), in the order the console lists them."""

# Only for an appliance older than the categories (no `category` on its events): the server's mapping
# (voltyard/events.py) is the one that counts, this guess only keeps such a console usable.
_FALLBACK_CATEGORY = {
    "Alert": "alert", "Warning": "alert", "SecurityEvent": "alert", "ClockSkew": "alert",
    "AutomaticResponse": "alert", "TransactionStarted": "transaction", "TransactionStopped": "transaction",
    "TransactionReconciled": "transaction", "SitePlan": "power", "PlanComputed": "power",
    "SiteLimitChanged": "operator", "IdTagChanged": "operator", "RegistrationChanged": "operator",
    "SecurityProfileChanged": "operator", "TransactionForceClosed": "operator",
    "AlertAcknowledged": "operator",
}  # fmt: skip


def parse_time(value: object) -> float | None:
    """The one place the console reads a time from the API: ISO 8601 (`...Z` or an offset) to unix seconds.

    The API sends ISO 8601 UTC everywhere; a number (an older appliance's unix seconds) is taken as is. A
    string that does not parse (a charger's own clock text the appliance passed through) is None: the
    screens show a dash rather than a wrong time.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # no zone given: the API's times are UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(stamp: float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A parsed time in the console's local time zone; a dash when unknown."""
    if stamp is None:
        return "–"
    return datetime.fromtimestamp(stamp).strftime(fmt)


def format_age(stamp: float | None, now: float) -> str:
    """How long ago `stamp` was, as a person says it ("12 s ago", "4 min ago"); "never" when unknown.

    A stamp a little ahead of `now` (the appliance's clock against the console's) is "just now", not a
    negative age.
    """
    if stamp is None:
        return "never"
    age = now - stamp
    if age < 1:
        return "just now"
    for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60)):
        if age >= seconds:
            return f"{int(age // seconds)} {unit} ago"
    return f"{int(age)} s ago"


def iso_utc(stamp: float) -> str:
    """Unix seconds as the API takes times: ISO 8601 UTC with a `Z`."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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

    def merged(self, update: Charger) -> Charger:
        """`update` folded into this record without losing what the update does not say.

        A live event builds a partial record (no security profile, connectors without availability); the
        fields it leaves unknown keep their last known value instead of being blanked.
        """
        connectors = {c.connector_id: c for c in self.connectors}
        for new in update.connectors:
            old = connectors.get(new.connector_id)
            connectors[new.connector_id] = (
                new
                if old is None
                else replace(
                    new,
                    availability=new.availability or old.availability,
                    info=new.info or old.info,
                )
            )
        return replace(
            update,
            registration=update.registration or self.registration,
            vendor=update.vendor or self.vendor,
            model=update.model or self.model,
            firmware_version=update.firmware_version or self.firmware_version,
            last_seen=update.last_seen if update.last_seen is not None else self.last_seen,
            security_profile=(
                update.security_profile if update.security_profile is not None else self.security_profile
            ),
            connectors=tuple(connectors[k] for k in sorted(connectors)),
        )

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
            last_seen=parse_time(data.get("last_seen")),
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
    duration_s: float | None = None

    @classmethod
    def from_json(cls, data: JsonObject) -> Transaction:
        return cls(
            id=int(data["id"]),
            charger_id=str(data.get("charger_id", "")),
            connector_id=int(data.get("connector_id") or 0),
            id_tag=_str(data.get("id_tag")),
            meter_start=_opt_int(data.get("meter_start")),
            start_time=parse_time(data.get("start_time")),
            meter_stop=_opt_int(data.get("meter_stop")),
            stop_time=parse_time(data.get("stop_time")),
            stop_reason=_opt_str(data.get("stop_reason")),
            active=bool(data.get("active")),
            energy_wh=_opt_int(data.get("energy_wh")),
            duration_s=_opt_float(data.get("duration_s")),
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
            time=parse_time(data.get("time")) or 0.0,
            message_type=_str(data.get("message_type")),
            message_id=_str(data.get("message_id")),
            action=_str(data.get("action")),
            frame=_str(data.get("frame")),
            reply_type=_opt_str(data.get("reply_type")),
            reply=_opt_str(data.get("reply")),
            reply_time=parse_time(data.get("reply_time")),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A domain event, from the sequenced log (`seq` set) or the live stream (`seq` None)."""

    kind: str
    charger_id: str | None
    time: float
    data: JsonObject = field(default_factory=dict)
    seq: int | None = None
    category: str = "charger"

    @classmethod
    def from_json(cls, data: JsonObject) -> Event:
        payload = data.get("data")
        kind = _str(data.get("kind"))
        category = _str(data.get("category")) or _FALLBACK_CATEGORY.get(kind, "charger")
        return cls(
            kind=kind,
            charger_id=_opt_str(data.get("charger_id")),
            time=parse_time(data.get("time")) or 0.0,
            data=dict(payload) if isinstance(payload, dict) else {},
            seq=_opt_int(data.get("seq")),
            category=category,
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert of the appliance (GET /alerts), open until an operator acknowledges it."""

    seq: int
    time: float | None
    kind: str
    charger_id: str | None
    data: JsonObject
    acknowledged_by: str | None
    acknowledged_at: float | None

    @property
    def what(self) -> str:
        """The alert's own kind (`data.kind`, e.g. ConnectorFaulted) or the event kind."""
        return _str(self.data.get("kind") or self.data.get("type")) or self.kind

    @classmethod
    def from_json(cls, data: JsonObject) -> Alert:
        payload = data.get("data")
        return cls(
            seq=int(data["seq"]),
            time=parse_time(data.get("time")),
            kind=_str(data.get("kind")),
            charger_id=_opt_str(data.get("charger_id")),
            data=dict(payload) if isinstance(payload, dict) else {},
            acknowledged_by=_opt_str(data.get("acknowledged_by")),
            acknowledged_at=parse_time(data.get("acknowledged_at")),
        )


@dataclass(frozen=True, slots=True)
class IdTag:
    """An id tag the appliance authorizes against (GET /id-tags)."""

    id_tag: str
    status: str
    expiry_date: float | None
    parent_id_tag: str | None

    @classmethod
    def from_json(cls, data: JsonObject) -> IdTag:
        return cls(
            id_tag=str(data["id_tag"]),
            status=_str(data.get("status")) or "Accepted",
            expiry_date=parse_time(data.get("expiry_date")),
            parent_id_tag=_opt_str(data.get("parent_id_tag")),
        )


@dataclass(frozen=True, slots=True)
class UplinkPoint:
    """One charge point's link to the operator's central system (`uplink.charge_points` of /health)."""

    state: str
    """connecting, pending (boot not accepted), online or offline."""
    detail: str | None
    """Why, for offline and pending."""
    queued: int
    last_sync: float | None

    @classmethod
    def from_json(cls, data: JsonObject) -> UplinkPoint:
        return cls(
            state=_str(data.get("state")) or "offline",
            detail=_opt_str(data.get("detail")),
            queued=_opt_int(data.get("queued")) or 0,
            last_sync=parse_time(data.get("last_sync")),
        )


@dataclass(frozen=True, slots=True)
class Uplink:
    """The appliance's uplink to the operator's central system (`uplink` of /health, docs/uplink.md)."""

    enabled: bool = False
    url: str | None = None
    state: str = "off"
    """off (no uplink), idle (no charge point yet), online (every charge point), partial or offline."""
    queued: int = 0
    last_sync: float | None = None
    charge_points: dict[str, UplinkPoint] = field(default_factory=dict)

    @property
    def online_points(self) -> int:
        return sum(point.state == "online" for point in self.charge_points.values())

    @classmethod
    def from_json(cls, data: object) -> Uplink:
        """The `uplink` member; absent (an appliance older than the uplink) is an uplink that is off."""
        if not isinstance(data, dict):
            return cls()
        points = data.get("charge_points")
        return cls(
            enabled=bool(data.get("enabled")),
            url=_opt_str(data.get("url")),
            state=_str(data.get("state")) or "off",
            queued=_opt_int(data.get("queued")) or 0,
            last_sync=parse_time(data.get("last_sync")),
            charge_points={
                str(charger_id): UplinkPoint.from_json(point)
                for charger_id, point in (points.items() if isinstance(points, dict) else ())
                if isinstance(point, dict)
            },
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
    uplink: Uplink = field(default_factory=Uplink)

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
            uplink=Uplink.from_json(data.get("uplink")),
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
