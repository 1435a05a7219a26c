"""JSON shapes of the API (docs/api.md "Shapes"), built from domain objects and store rows.

Each shape is one view class (a TypedDict: what a route builds is the plain dict it serves); the OpenAPI
document's component schemas are generated from them (api/schema.py), so the two cannot drift.

Every time in them goes through `iso_utc` (times the appliance took) or `normalise_time` (times a charger
sent): one format, UTC ISO 8601 with milliseconds and a "Z".
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from aiohttp import web

from voltyard.api.keys import CREDENTIALS, SESSIONS
from voltyard.api.schema import Extra
from voltyard.domain.chargers import ChargerRecord
from voltyard.events.kinds import CATEGORIES, category_of
from voltyard.ocpp.timefmt import charger_time, iso_utc, normalise_time
from voltyard.store.event_log import AlertState, LoggedEvent
from voltyard.store.queries import TransactionRow

__all__ = [
    "VIEWS",
    "Alert",
    "AlertList",
    "Cabinet",
    "Charger",
    "ChargerDetail",
    "ChargerPage",
    "CommandAnswer",
    "ConfigurationKey",
    "Connector",
    "Error",
    "Event",
    "EventPage",
    "Health",
    "IdTag",
    "IdTagImport",
    "IdTagList",
    "LocalList",
    "Message",
    "MessageExport",
    "MessagePage",
    "MeterValue",
    "SecurityProfile",
    "Site",
    "StopRecord",
    "SyncCursor",
    "Transaction",
    "TransactionDetail",
    "TransactionPage",
    "alert_view",
    "charger_view",
    "event_view",
    "is_faulted",
    "optional_time",
    "transaction_view",
]

# Every time the API takes: UTC, ISO 8601, milliseconds, "Z" (2026-12-06T23:52:41.123Z).
IsoTime = Annotated[str, Extra(format="date-time", pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
# A time a charger sent: in the form above when it parses, else as the charger sent it.
SentTime = Annotated[str, Extra(description="ISO 8601 UTC when the charger's time parses, else as sent")]
# Any JSON object (a payload as a charger or the appliance wrote it).
JsonObject = dict[str, Any]
Category = Annotated[str, Extra(enum=list(CATEGORIES))]


class ErrorDetail(TypedDict):
    status: int
    code: str
    message: str
    details: JsonObject


class Error(TypedDict):
    error: ErrorDetail


class Connector(TypedDict):
    connector_id: int
    status: str
    error_code: str
    availability: str
    info: str | None


class Charger(TypedDict):
    id: str
    registration: str
    connected: bool
    online: bool
    vendor: str | None
    model: str | None
    firmware_version: str | None
    last_seen: IsoTime | None
    security_profile: int
    # The OCPP version of its live connection ("1.6", "2.0.1", "2.1"), negotiated at the handshake; None
    # when it is not connected.
    ocpp_version: str | None
    connectors: list[Connector]


class ChargerPage(TypedDict):
    items: list[Charger]
    total: int


class ConfigurationKey(TypedDict):
    key: str
    value: str | None
    readonly: bool


class Transaction(TypedDict):
    id: int
    charger_id: str
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: SentTime
    meter_stop: int | None
    stop_time: SentTime | None
    stop_reason: str | None
    stop_flag: str | None
    active: bool
    energy_wh: int | None
    duration_s: float | None
    clock_skew: bool
    # The transactionId an OCPP 2.x charger gave it (`id` is ours, as for every transaction); None for 1.6.
    charger_transaction_id: str | None


class DeviceVariable(TypedDict):
    """One variable attribute of a 2.x charger's device model, as its NotifyReport last named it."""

    component: str
    component_instance: str | None
    evse_id: int | None
    connector_id: int | None
    variable: str
    variable_instance: str | None
    attribute_type: str
    value: str | None
    mutability: str | None


class ChargerDetail(Charger):
    boot: JsonObject
    configuration: list[ConfigurationKey]
    # OCPP 2.x: the device model its NotifyReports described (empty for 1.6, whose `configuration` it is).
    device_model: list[DeviceVariable]
    local_list_version: int
    leniency: list[str]
    active_transactions: list[Transaction]


class SecurityProfile(TypedDict):
    charger_id: str
    profile: int


class IdTag(TypedDict):
    id_tag: str
    status: str
    expiry_date: str | None
    parent_id_tag: str | None


class IdTagList(TypedDict):
    items: list[IdTag]


class IdTagImport(TypedDict):
    imported: int


class LocalList(TypedDict):
    version: int
    items: list[IdTag]


class TransactionPage(TypedDict):
    items: list[Transaction]
    total: int


class MeterValue(TypedDict):
    timestamp: SentTime
    energy_wh: float | None
    power_w: float | None
    sampled_value: Any  # the charger's sampledValue, as it sent it


class StopRecord(TypedDict):
    meter_stop: int
    timestamp: SentTime
    reason: str | None
    flag: str | None
    received_at: IsoTime | None


class TransactionDetail(Transaction):
    meter_values: list[MeterValue]
    stop_records: list[StopRecord]


class Message(TypedDict):
    charger_id: str
    direction: Annotated[str, Extra(enum=["in", "out"])]  # the store's Exchange says it as a str
    time: Annotated[str, Extra(format="date-time")]
    message_type: int | None
    message_id: str | None
    action: str | None
    frame: str
    reply_type: int | None
    reply: str | None
    reply_time: Annotated[str, Extra(format="date-time")] | None


class MessagePage(TypedDict):
    items: list[Message]
    next: str | None


class MessageExport(TypedDict):
    items: list[Message]
    truncated: bool
    next: str | None


class Event(TypedDict):
    seq: int
    time: IsoTime
    kind: str
    category: Category
    charger_id: str | None
    data: JsonObject


class EventPage(TypedDict):
    items: list[Event]
    next: int


class Alert(TypedDict):
    seq: int
    time: IsoTime
    kind: str
    charger_id: str | None
    data: JsonObject
    acknowledged_by: str | None
    acknowledged_at: IsoTime | None


class AlertList(TypedDict):
    items: list[Alert]


class SyncCursor(TypedDict):
    consumer: str
    seq: int


class Site(TypedDict):
    limit_kw: float
    power_kw: float
    chargers_kw: float
    cabinet_kw: float


class HealthChargers(TypedDict):
    known: int
    connected: int
    online: int
    offline: int
    faulted: int


class HealthTransactions(TypedDict):
    active: int


class HealthStore(TypedDict):
    status: Literal["ok", "degraded"]
    problems: list[str]  # why it is degraded, one reason each; empty when ok
    writer: Literal["running", "stopped"]
    error: str | None  # why the writer stopped
    commits: int
    failed_commits: int
    failed_rows: int  # telemetry rows and durable units refused, and failed commits
    last_commit_age_s: float | None  # seconds since the last successful commit; null before the first
    free_disk_bytes: int | None  # free space of the data directory's volume; null if it cannot be read
    min_free_disk_bytes: int  # [store] min_free_disk_mb: less free is degraded


class HealthSite(TypedDict):
    limit_kw: float
    power_kw: float


class HealthUplinkPoint(TypedDict):
    state: str  # connecting, pending (boot not accepted), online, offline
    detail: str | None
    queued: int
    last_sync: str | None


class HealthUplink(TypedDict):
    enabled: bool
    url: str | None
    state: str  # off, idle (no charge point yet), online, partial, offline
    queued: int
    last_sync: str | None
    charge_points: dict[str, HealthUplinkPoint]


class Health(TypedDict):
    status: Literal["ok", "degraded"]
    version: str
    uptime_s: float
    chargers: HealthChargers
    transactions: HealthTransactions
    store: HealthStore
    event_loop_lag_ms: float
    site: HealthSite
    uplink: HealthUplink


class Cabinet(TypedDict):
    configured: bool
    guns: list[Any]
    slots: list[Any]
    modules: list[Any]
    plan: NotRequired[Any]  # the latest plan (docs/api.md "Cabinet"), null before the first


class CommandAnswer(TypedDict):
    action: str
    answer: JsonObject


class UplinkQueued(TypedDict):
    seq: int
    charger_id: str
    action: str
    transaction_id: int | None  # the local transaction the message names
    queued_at: str
    payload: JsonObject  # as it will be sent, but for the central system's transaction id (put in when sent)


class UplinkQueuePage(TypedDict):
    items: list[UplinkQueued]
    total: int


# Every view the OpenAPI document names as a component (those they hold come with them).
VIEWS: tuple[type, ...] = (
    Error, Charger, ChargerPage, ChargerDetail, SecurityProfile, LocalList, Transaction, TransactionPage,
    TransactionDetail, IdTag, IdTagList, IdTagImport, Message, MessagePage, MessageExport, Event, EventPage,
    Alert, AlertList, SyncCursor, Site, Health, Cabinet, CommandAnswer, UplinkQueuePage,
)  # fmt: skip


def optional_time(seconds: float | None) -> str | None:
    """A time the appliance took (unix seconds; 0 or None: never) in the API's form."""
    return iso_utc(seconds) if seconds else None


def _sent_time(text: str | None) -> str | None:
    return None if text is None else normalise_time(text)


def is_faulted(record: ChargerRecord) -> bool:
    return any(state.status == "Faulted" for state in record.connectors.values())


def charger_view(app: web.Application, record: ChargerRecord) -> Charger:
    connection = app[SESSIONS].get(record.id)
    # The connection knows when the charger last sent anything; the record, its last heartbeat or boot.
    last_seen = max(record.last_seen, connection.last_message if connection is not None else 0.0)
    return {
        "id": record.id,
        "registration": record.registration,
        "connected": connection is not None,
        "online": record.online,
        "vendor": record.boot.get("chargePointVendor"),
        "model": record.boot.get("chargePointModel"),
        "firmware_version": record.boot.get("firmwareVersion"),
        "last_seen": optional_time(last_seen),
        "security_profile": app[CREDENTIALS].of(record.id).profile,
        "ocpp_version": connection.ocpp_version if connection is not None else None,
        "connectors": [
            {
                "connector_id": connector_id,
                "status": state.status,
                "error_code": state.error_code,
                "availability": state.availability,
                "info": state.info,
            }
            for connector_id, state in sorted(record.connectors.items())
        ],
    }


def device_variable_view(row: tuple[Any, ...]) -> DeviceVariable:
    """A device-model row; the store's '' and 0 for an absent instance, EVSE or connector are null here."""
    (
        component,
        component_instance,
        evse_id,
        connector_id,
        variable,
        variable_instance,
        kind,
        value,
        mutability,
    ) = row
    return {
        "component": component,
        "component_instance": component_instance or None,
        "evse_id": evse_id or None,
        "connector_id": connector_id or None,
        "variable": variable,
        "variable_instance": variable_instance or None,
        "attribute_type": kind,
        "value": value,
        "mutability": mutability,
    }


def transaction_view(row: TransactionRow) -> Transaction:
    """A transaction (the store read an active one's latest energy reading with it)."""
    (tx_id, charger_id, connector_id, id_tag, meter_start, start_time, meter_stop, stop_time, reason, flag,
     active, skew, charger_transaction_id, reading) = row  # fmt: skip
    if meter_stop is not None:
        energy_wh: int | None = meter_stop - meter_start
    else:
        # An active one has delivered what its meter reads now (Energy.Active.Import.Register, in Wh: the
        # store converts kWh readings) less what it read at the start.
        energy_wh = round(reading) - meter_start if reading is not None else None
    started = charger_time(start_time)
    ended = (
        charger_time(stop_time)
        if stop_time is not None
        else (None if meter_stop is not None else time.time())
    )
    return {
        "id": tx_id,
        "charger_id": charger_id,
        "connector_id": connector_id,
        "id_tag": id_tag,
        "meter_start": meter_start,
        "start_time": normalise_time(start_time),
        "meter_stop": meter_stop,
        "stop_time": _sent_time(stop_time),
        "stop_reason": reason,
        "stop_flag": flag,
        "active": bool(active),
        "energy_wh": energy_wh,
        "duration_s": round(ended - started, 3) if started is not None and ended is not None else None,
        "clock_skew": bool(skew),
        "charger_transaction_id": charger_transaction_id,
    }


def event_view(event: LoggedEvent) -> Event:
    return {
        "seq": event.seq,
        "time": iso_utc(event.time),
        "kind": event.kind,
        "category": category_of(event.kind, event.data),
        "charger_id": event.charger_id,
        "data": event.data,
    }


def alert_view(state: AlertState) -> Alert:
    event = state.event
    return {
        "seq": event.seq,
        "time": iso_utc(event.time),
        "kind": event.kind,
        "charger_id": event.charger_id,
        "data": event.data,
        "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": optional_time(state.acknowledged_at),
    }
