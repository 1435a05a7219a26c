"""One frozen, slotted dataclass per event kind, and the category table of the kinds.

Conventions, kept in one place (`Event`), so that no class spells its own JSON:
- the kind of an event is its class name (`Event.kind`);
- its payload (`Event.data()`) holds its own fields (every field but `charger_id` and `time`), each under
  its name in camelCase (`transaction_id` -> `transactionId`; a trailing underscore, PEP 8's escape for a
  keyword or a clash with `kind`, is dropped: `in_` -> `in`, `kind_` -> `kind`);
- a field that defaults to None is left out of the payload while it is None (it is one the event has only
  sometimes: an Alert's `connector_id`); a field without a default is always there, None or not.

This module imports nothing of `voltyard.store`: the store builds the events it writes with a change
(a transaction's start) inside that change's transaction.
"""

from __future__ import annotations

import dataclasses
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = [
    "CATEGORIES",
    "COMMAND_KINDS",
    "COMMAND_ORIGIN",
    "DEFAULT_CATEGORY",
    "DEFAULT_KINDS",
    "KIND_CATEGORIES",
    "ORIGIN_CATEGORIES",
    "Alert",
    "AlertAcknowledged",
    "AuthorizeRejected",
    "AutoCharge",
    "AutomaticResponse",
    "Category",
    "CertificateSigningRequested",
    "ChargerBooted",
    "ChargerConnected",
    "ChargerDisconnected",
    "ChargerRegistered",
    "ClockSkew",
    "CommandAnswered",
    "CommandSent",
    "ConnectorStatusChanged",
    "DiagnosticsStatusNotification",
    "Event",
    "EventRow",
    "FirmwareStatusNotification",
    "GunFaultCleared",
    "HeartbeatRestored",
    "IdTagChanged",
    "IdTagsImported",
    "LogStatusNotification",
    "MessageIn",
    "MessageOut",
    "MeterValues",
    "PlanComputed",
    "RegistrationChanged",
    "SecurityEvent",
    "SecurityProfileChanged",
    "SignedFirmwareStatusNotification",
    "SiteLimitChanged",
    "SitePlan",
    "TransactionForceClosed",
    "TransactionReconciled",
    "TransactionStarted",
    "TransactionStopFlagged",
    "TransactionStopped",
    "UplinkProfileCapped",
    "UplinkStateChanged",
    "Warning",
    "camel",
    "category_of",
    "event_classes",
]

# An event as the log stores it: (time, kind, charger_id, data as JSON text).
EventRow = tuple[float, str, str | None, str]


def camel(name: str) -> str:
    """A field's payload key: snake_case -> camelCase, a trailing underscore dropped."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Per class: (attribute, payload key, left out while None), computed once from its fields.
_Layout = tuple[tuple[str, str, bool], ...]
_LAYOUTS: dict[type[Event], _Layout] = {}
_BASE_FIELDS = frozenset({"charger_id", "time"})


def _layout(cls: type[Event]) -> _Layout:
    found = _LAYOUTS.get(cls)
    if found is None:
        found = _LAYOUTS[cls] = tuple(
            (f.name, camel(f.name), f.default is None)
            for f in dataclasses.fields(cls)
            if f.name not in _BASE_FIELDS
        )
    return found


@dataclass(frozen=True, slots=True)
class Event:
    """What every event has: the charger it is about (None for the site's), when it happened, its kind (the
    class name) and its JSON payload (`data()`, derived from the class's own fields)."""

    charger_id: str | None
    time: float = field(default_factory=time.time, kw_only=True)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def data(self) -> dict[str, Any]:
        """The payload: each own field under its camelCase name (module docstring)."""
        payload: dict[str, Any] = {}
        for name, key, optional in _layout(type(self)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            payload[key] = value
        return payload

    def category(self) -> Category:
        kind = self.kind
        return category_of(kind, self.data() if kind in COMMAND_KINDS else {})

    def row(self) -> EventRow:
        """The event as the log stores it."""
        return (self.time, self.kind, self.charger_id, orjson.dumps(self.data()).decode())


# --- chargers: connections, boots, status -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChargerConnected(Event):
    source: str
    profile: int


@dataclass(frozen=True, slots=True)
class ChargerDisconnected(Event):
    pass


@dataclass(frozen=True, slots=True)
class ChargerRegistered(Event):
    pass


@dataclass(frozen=True, slots=True)
class ChargerBooted(Event):
    """A BootNotification's answer and the charger's identity fields it sent (those it sent only)."""

    status: str
    charge_point_vendor: str | None = None
    charge_point_model: str | None = None
    charge_point_serial_number: str | None = None
    charge_box_serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorStatusChanged(Event):
    connector_id: int
    status: str
    error_code: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class HeartbeatRestored(Event):
    pass


@dataclass(frozen=True, slots=True)
class GunFaultCleared(Event):
    connector_id: int
    fault: str


@dataclass(frozen=True, slots=True)
class AutoCharge(Event):
    connector_id: int
    id_tag: str
    status: str


@dataclass(frozen=True, slots=True)
class AuthorizeRejected(Event):
    id_tag: str
    status: str


@dataclass(frozen=True, slots=True)
class _StatusNotification(Event):
    """A charger's progress report on an upload or update: its status (and the request it answers, for
    those whose request has an id)."""

    status: str
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class FirmwareStatusNotification(_StatusNotification):
    pass


@dataclass(frozen=True, slots=True)
class SignedFirmwareStatusNotification(_StatusNotification):
    pass


@dataclass(frozen=True, slots=True)
class DiagnosticsStatusNotification(_StatusNotification):
    pass


@dataclass(frozen=True, slots=True)
class LogStatusNotification(_StatusNotification):
    pass


@dataclass(frozen=True, slots=True)
class CertificateSigningRequested(Event):
    csr_length: int


# --- alerts ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert(Event):
    """Something an operator must look at; `kind_` says what (ConnectorFaulted, GunFault, HeartbeatLost,
    NotFollowingLimit), the other fields are those of that alert."""

    kind_: str
    connector_id: int | None = None
    transaction_id: int | None = None
    error_code: str | None = None
    fault: str | None = None
    detail: str | None = None
    silent_for: int | None = None
    state: str | None = None
    limit_kw: float | None = None
    measured_kw: float | None = None
    grace_s: float | None = None


@dataclass(frozen=True, slots=True)
class Warning(Event):
    """A warning: `kind_` says what (EmergencyStop, StoreWriterStopped)."""

    kind_: str
    transaction_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SecurityEvent(Event):
    """A security event: a charger's SecurityEventNotification (type, timestamp, techInfo) or the
    appliance's own (a refused login, a rotated key)."""

    type: str
    timestamp: str | None = None
    tech_info: str | None = None
    source: str | None = None
    reason: str | None = None
    profile: int | None = None


@dataclass(frozen=True, slots=True)
class ClockSkew(Event):
    """A charger's clock is off: the `timestamp` it sent `in_` which request."""

    timestamp: str
    in_: str


@dataclass(frozen=True, slots=True)
class AutomaticResponse(Event):
    trigger: str
    action: str
    request: dict[str, Any]
    answer: dict[str, Any] | None


# --- what operators did ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteLimitChanged(Event):
    limit_kw: float
    previous_kw: float | None
    operator: str | None


@dataclass(frozen=True, slots=True)
class IdTagChanged(Event):
    """An id tag put (its new fields) or deleted (`deleted`)."""

    id_tag: str
    operator: str | None
    status: str | None = None
    expiry_date: str | None = None
    parent_id_tag: str | None = None
    deleted: bool | None = None


@dataclass(frozen=True, slots=True)
class IdTagsImported(Event):
    count: int
    operator: str | None


@dataclass(frozen=True, slots=True)
class RegistrationChanged(Event):
    registration: str
    previous: str
    operator: str | None


@dataclass(frozen=True, slots=True)
class SecurityProfileChanged(Event):
    profile: int
    previous: int
    password_changed: bool
    operator: str | None


@dataclass(frozen=True, slots=True)
class TransactionForceClosed(Event):
    transaction_id: int
    operator: str


@dataclass(frozen=True, slots=True)
class AlertAcknowledged(Event):
    """An operator acknowledged the alert with sequence number `alert_seq` (payload `alertSeq`; rows
    written before the convention have `alert_seq`)."""

    alert_seq: int
    operator: str | None


@dataclass(frozen=True, slots=True)
class CommandSent(Event):
    """A call sent to a charger (or answered by the cabinet's local charge point, `local`); `origin` is who
    sent it (COMMAND_ORIGIN)."""

    action: str
    origin: str
    message_id: str | None = None
    local: bool | None = None


@dataclass(frozen=True, slots=True)
class CommandAnswered(Event):
    """How a call ended: the answer's `status`, or the `error` that ended it without one."""

    action: str
    message_id: str | None
    origin: str
    status: str | None = None
    error: str | None = None


# --- transactions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransactionStarted(Event):
    transaction_id: int
    connector_id: int
    id_tag: str
    meter_start: int
    timestamp: str


@dataclass(frozen=True, slots=True)
class TransactionStopped(Event):
    transaction_id: int
    flag: str
    meter_stop: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class TransactionStopFlagged(Event):
    """A stop the store could not take as it came (Unknown, AlreadyStopped, OutOfRange...); an OutOfRange
    one carries the request's fields as received (ids and readings out of range as text)."""

    transaction_id: int | str
    flag: str
    meter_stop: int | str
    reason: str | None
    timestamp: str | None = None
    id_tag: str | None = None
    transaction_data: object = None


@dataclass(frozen=True, slots=True)
class TransactionReconciled(Event):
    transaction_id: int
    reason: str
    meter_stop: int


@dataclass(frozen=True, slots=True)
class MeterValues(Event):
    """One reading, live only (not logged)."""

    connector_id: int
    transaction_id: int | None
    energy_wh: float | None
    power_w: float | None


# --- site power --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SitePlan(Event):
    """A rebalance of the site's power (docs/power.md lists the fields)."""

    reason: str
    limit_kw: float
    level_kw: float | None
    cabinet: dict[str, Any]
    committed_kw: float
    changes: int
    sessions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PlanComputed(Event):
    """The cabinet planner's plan (live only): per gun, per slot, the switching steps still to do."""

    guns: list[dict[str, Any]]
    slots: list[dict[str, Any]]
    sequence: list[dict[str, Any]]
    total_budget_kw: float


# --- the uplink to the operator's central system (voltyard.uplink) -----------------------------------


@dataclass(frozen=True, slots=True)
class UplinkStateChanged(Event):
    """A charge point's connection to the central system: connecting, online, offline (with why)."""

    state: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class UplinkProfileCapped(Event):
    """A charging profile from the central system was capped to the site's share before it went down."""

    connector_id: int
    requested_kw: float
    cap_kw: float
    unit: str


# --- frames, live only, for inspectors ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageIn(Event):
    action: str | None
    message_id: str
    message_type: int
    frame: str


@dataclass(frozen=True, slots=True)
class MessageOut(Event):
    action: str | None
    message_id: str
    message_type: int
    frame: str


def event_classes() -> tuple[type[Event], ...]:
    """Every event kind's class of this module (the bases shared by a few kinds, named with a leading
    underscore, are none; a test's own probe classes are not the appliance's kinds)."""
    found: list[type[Event]] = []
    pending = list(Event.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        # slots=True makes a new class: the one it replaced is still a subclass until collected.
        if globals().get(cls.__name__) is cls and not cls.__name__.startswith("_"):
            found.append(cls)
    return tuple(found)


# --- categories --------------------------------------------------------------------------------------

Category = Literal["alert", "operator", "charger", "transaction", "power"]
CATEGORIES: tuple[Category, ...] = ("alert", "operator", "charger", "transaction", "power")
DEFAULT_CATEGORY: Category = "charger"

# The one table of event categories (docs/api.md "Events"): what an operator must see (alerts, what operators
# did) apart from what the appliance does by itself many times a minute (power bookkeeping). Every class is
# named once: here, in COMMAND_KINDS or in DEFAULT_KINDS (a test checks it), so a new kind cannot be
# forgotten.
_CLASS_CATEGORIES: dict[type[Event], Category] = {
    Alert: "alert",
    SecurityEvent: "alert",
    ClockSkew: "alert",
    AutomaticResponse: "alert",
    Warning: "alert",
    SiteLimitChanged: "operator",
    IdTagChanged: "operator",
    IdTagsImported: "operator",
    RegistrationChanged: "operator",
    SecurityProfileChanged: "operator",
    TransactionForceClosed: "operator",
    AlertAcknowledged: "operator",
    TransactionStarted: "transaction",
    TransactionStopped: "transaction",
    TransactionStopFlagged: "transaction",
    TransactionReconciled: "transaction",
    MeterValues: "transaction",
    SitePlan: "power",
    PlanComputed: "power",
    UplinkProfileCapped: "power",
}
# CommandSent and CommandAnswered are the category of who sent the command (ORIGIN_CATEGORIES).
_COMMAND_CLASSES: frozenset[type[Event]] = frozenset({CommandSent, CommandAnswered})
# The kinds of the default category, the charger's.
_DEFAULT_CLASSES: frozenset[type[Event]] = frozenset({
    ChargerConnected, ChargerDisconnected, ChargerRegistered, ChargerBooted, ConnectorStatusChanged,
    HeartbeatRestored, GunFaultCleared, AutoCharge, AuthorizeRejected, FirmwareStatusNotification,
    SignedFirmwareStatusNotification, DiagnosticsStatusNotification, LogStatusNotification,
    CertificateSigningRequested, MessageIn, MessageOut, UplinkStateChanged,
})  # fmt: skip

# The same tables by kind name: the event log holds names, and so do the API and the OpenAPI document.
KIND_CATEGORIES: dict[str, Category] = {cls.__name__: category for cls, category in _CLASS_CATEGORIES.items()}
COMMAND_KINDS = frozenset(cls.__name__ for cls in _COMMAND_CLASSES)
DEFAULT_KINDS = frozenset(cls.__name__ for cls in _DEFAULT_CLASSES)
# Who sends a command, by the `origin` its CommandSent/CommandAnswered carry; an origin not named here is an
# operator's (the control API).
ORIGIN_CATEGORIES: dict[str, Category] = {"power": "power", "health": "charger"}

# Who is sending commands in the current task: the power manager and the health checks set theirs, so the
# commands they send are told apart from an operator's without threading a parameter through every call.
COMMAND_ORIGIN: ContextVar[str] = ContextVar("command_origin", default="operator")


def category_of(kind: str, data: dict[str, Any]) -> Category:
    """The category of an event by its kind and payload: a logged one (rows of any age) or a live one."""
    if kind in COMMAND_KINDS:
        return ORIGIN_CATEGORIES.get(str(data.get("origin", "operator")), "operator")
    return KIND_CATEGORIES.get(kind, DEFAULT_CATEGORY)
