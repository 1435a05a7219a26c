"""Charger records as stored: `chargers` (registration, boot data, per-charger settings), `connectors` (the
current state of each) and `status_history` (each change).

The hot path writes these as telemetry (`StoreWriter.append`/`upsert`, committed within the commit
interval): the functions that take a `StoreWriter` queue rows, the ones that take a connection run in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from voltyard.store.connection import Connection
from voltyard.store.writer import StoreWriter

__all__ = [
    "BOOT_COLUMNS",
    "SETTABLE_COLUMNS",
    "ChargerRow",
    "ConnectorRow",
    "append_availability",
    "append_boot",
    "append_field",
    "append_local_list_version",
    "append_seen",
    "append_status",
    "load_chargers",
    "load_connectors",
    "save_limits",
]

# The boot data columns, in the order `append_boot` takes their values.
BOOT_COLUMNS = (
    "vendor",
    "model",
    "serial_number",
    "box_serial_number",
    "firmware_version",
    "iccid",
    "imsi",
    "meter_type",
    "meter_serial_number",
)
# The columns `append_field` may set.
SETTABLE_COLUMNS = frozenset({"firmware_status", "diagnostics_status", "log_status", "registration"})

_UPSERT_CHARGER = """
INSERT INTO chargers (id, vendor, model, serial_number, box_serial_number, firmware_version, iccid, imsi,
                      meter_type, meter_serial_number, registration, first_seen, last_boot, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor, model = excluded.model,
    serial_number = excluded.serial_number, box_serial_number = excluded.box_serial_number,
    firmware_version = excluded.firmware_version, iccid = excluded.iccid, imsi = excluded.imsi,
    meter_type = excluded.meter_type, meter_serial_number = excluded.meter_serial_number,
    registration = excluded.registration, last_boot = excluded.last_boot, last_seen = excluded.last_seen
"""
_SEEN = (
    "INSERT INTO chargers (id, first_seen, last_seen) VALUES (?1, ?2, ?2) "
    "ON CONFLICT (id) DO UPDATE SET last_seen = ?2"
)
_SET_FIELD = "UPDATE chargers SET {column} = ? WHERE id = ?"
_UPSERT_CONNECTOR = """
INSERT INTO connectors (charger_id, connector_id, status, error_code, info, vendor_id, vendor_error_code,
                        timestamp, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (charger_id, connector_id) DO UPDATE SET status = excluded.status,
    error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id,
    vendor_error_code = excluded.vendor_error_code,
    timestamp = excluded.timestamp, updated_at = excluded.updated_at
"""
_STATUS_HISTORY = """
INSERT INTO status_history (charger_id, connector_id, status, error_code, info, vendor_id, vendor_error_code,
                            timestamp, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_SET_LOCAL_LIST_VERSION = "UPDATE chargers SET local_list_version = ? WHERE id = ?"
_SET_AVAILABILITY = "UPDATE connectors SET availability = ? WHERE charger_id = ? AND connector_id = ?"

# A StatusNotification as stored: (charger_id, connector_id, status, error_code, info, vendor_id,
# vendor_error_code, timestamp, received_at).
StatusRow = tuple[str, int, str, str, str | None, str | None, str | None, str | None, float]


@dataclass(frozen=True, slots=True)
class ChargerRow:
    """One `chargers` row as loaded at start; `boot` holds the boot columns that are set, by column."""

    id: str
    registration: str
    boot: dict[str, str]
    last_seen: float | None
    firmware_status: str | None
    diagnostics_status: str | None
    log_status: str | None
    security_profile: int
    local_list_version: int
    max_frame_size: int | None
    leniency: str | None


@dataclass(frozen=True, slots=True)
class ConnectorRow:
    charger_id: str
    connector_id: int
    status: str
    error_code: str
    info: str | None
    vendor_error_code: str | None
    timestamp: str | None
    availability: str


def load_chargers(conn: Connection) -> list[ChargerRow]:
    columns = (*BOOT_COLUMNS, *_LOADED)
    found = []
    for values in conn.execute(f"SELECT id, {', '.join(columns)} FROM chargers"):
        row = dict(zip(columns, values[1:], strict=True))
        found.append(
            ChargerRow(
                id=values[0],
                registration=row["registration"],
                boot={column: row[column] for column in BOOT_COLUMNS if row[column] is not None},
                last_seen=row["last_seen"],
                firmware_status=row["firmware_status"],
                diagnostics_status=row["diagnostics_status"],
                log_status=row["log_status"],
                security_profile=row["security_profile"],
                local_list_version=row["local_list_version"],
                max_frame_size=row["max_frame_size"],
                leniency=row["leniency"],
            )
        )
    return found


# The columns of a `chargers` row that `load_chargers` reads beside the boot columns.
_LOADED = (
    "registration",
    "last_seen",
    "firmware_status",
    "diagnostics_status",
    "log_status",
    "security_profile",
    "local_list_version",
    "max_frame_size",
    "leniency",
)


def load_connectors(conn: Connection) -> list[ConnectorRow]:
    return [
        ConnectorRow(*row)
        for row in conn.execute(
            "SELECT charger_id, connector_id, status, error_code, info, vendor_error_code, timestamp, "
            "availability FROM connectors"
        )
    ]


def save_limits(
    conn: Connection, charger_id: str, max_frame_size: int | None, leniency: str, now: float
) -> None:
    """A charger's frame size override and tolerated deviations (a charger not yet seen is recorded)."""
    conn.execute(
        "INSERT INTO chargers (id, first_seen, max_frame_size, leniency) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET max_frame_size = excluded.max_frame_size, "
        "leniency = excluded.leniency",
        (charger_id, now, max_frame_size, leniency),
    )


def append_boot(
    store: StoreWriter, charger_id: str, boot: tuple[str | None, ...], registration: str, now: float
) -> None:
    """A boot: its data (values of BOOT_COLUMNS, in order), the registration answered, seen and booted
    `now`."""
    store.append(_UPSERT_CHARGER, (charger_id, *boot, registration, now, now, now))


def append_seen(store: StoreWriter, charger_id: str, at: float) -> None:
    store.append(_SEEN, (charger_id, at))


def append_field(store: StoreWriter, charger_id: str, column: str, value: object, now: float) -> None:
    """Set one of SETTABLE_COLUMNS (a charger not yet seen is recorded, seen `now`)."""
    if column not in SETTABLE_COLUMNS:
        raise ValueError(f"not a settable charger column: {column}")
    store.append(_SEEN, (charger_id, now))
    store.append(_SET_FIELD.format(column=column), (value, charger_id))


def append_status(store: StoreWriter, row: StatusRow, *, changed: bool) -> None:
    """A StatusNotification: the connector's current state (of the rows of one commit interval only the
    latest is written) and, when `changed`, a history row."""
    store.upsert(_UPSERT_CONNECTOR, (row[0], row[1]), row)
    if changed:
        store.append(_STATUS_HISTORY, row)


def append_availability(store: StoreWriter, charger_id: str, connector_id: int, availability: str) -> None:
    store.append(_SET_AVAILABILITY, (availability, charger_id, connector_id))


def append_local_list_version(store: StoreWriter, charger_id: str, version: int) -> None:
    """The local list version a charger reported (GetLocalListVersion)."""
    store.append(_SET_LOCAL_LIST_VERSION, (version, charger_id))
