"""The CSMS-initiated OCPP 1.6 actions (core and security extension) as forms the console can check.

Each action lists its request fields with the type, requirement and limits of the OCPP 1.6 JSON schema, so
the command form refuses a missing idTag or a connectorId of "two" before anything is sent. The appliance
validates against the full schema as well (nested objects are only checked for being JSON objects here);
its 422 message is shown when it disagrees. `tests/test_actions.py` checks this table against the `ocpp`
library's schemas, so a drift shows up as a failing test rather than as a refused command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import urlparse

__all__ = [
    "ACTIONS",
    "ALL_ACTIONS",
    "CHARGER_ACTIONS",
    "ActionSpec",
    "FieldKind",
    "FieldSpec",
    "FormError",
    "parse_form",
]


class FieldKind(Enum):
    """How a field is typed in and what it becomes in the payload."""

    INTEGER = "integer"
    TEXT = "text"
    CHOICE = "choice"
    DATETIME = "datetime"
    URI = "uri"
    OBJECT = "object"
    """JSON text that must be an object."""
    ARRAY = "array"
    """JSON text that must be an array."""
    TEXT_LIST = "text list"
    """Comma-separated words, sent as an array of strings."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One request field: its wire name, kind, whether it is required and its limits."""

    name: str
    kind: FieldKind
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    example: str = ""
    """Shown as the placeholder, and pre-filled for JSON fields (nobody types a charging profile blind)."""


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """A CSMS-initiated action and its request fields."""

    name: str
    fields: tuple[FieldSpec, ...]
    summary: str
    security: bool = False


class FormError(ValueError):
    """The form's values cannot make a valid request; `errors` maps field name to what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in errors.items()))
        self.errors = errors


INT, TXT, CHO, DT, URL, OBJ, ARR, LST = (
    FieldKind.INTEGER,
    FieldKind.TEXT,
    FieldKind.CHOICE,
    FieldKind.DATETIME,
    FieldKind.URI,
    FieldKind.OBJECT,
    FieldKind.ARRAY,
    FieldKind.TEXT_LIST,
)

_PROFILE = (
    '{"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", '
    '"chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "A", '
    '"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}}'
)
_TRIGGERS = (
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)
_EXT_TRIGGERS = (
    "BootNotification",
    "LogStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "SignChargePointCertificate",
    "StatusNotification",
)
_CERT_TYPES = ("CentralSystemRootCertificate", "ManufacturerRootCertificate")
_WHEN = "2030-01-01T12:00:00Z"


def _f(name: str, kind: FieldKind, required: bool = False, **extra: Any) -> FieldSpec:  # noqa: ANN401
    return FieldSpec(name, kind, required, **extra)


_SPECS = (
    ActionSpec("CancelReservation", (_f("reservationId", INT, True),), "Cancel a reservation"),
    ActionSpec(
        "ChangeAvailability",
        (
            _f("connectorId", INT, True, example="0"),
            _f("type", CHO, True, choices=("Inoperative", "Operative")),
        ),
        "Make a connector (0: the charger) operative or inoperative",
    ),
    ActionSpec(
        "ChangeConfiguration",
        (_f("key", TXT, True, max_length=50), _f("value", TXT, True, max_length=500)),
        "Set one configuration key",
    ),
    ActionSpec("ClearCache", (), "Clear the authorization cache"),
    ActionSpec(
        "ClearChargingProfile",
        (
            _f("id", INT),
            _f("connectorId", INT),
            _f(
                "chargingProfilePurpose",
                CHO,
                choices=("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"),
            ),
            _f("stackLevel", INT),
        ),
        "Clear charging profiles matching the given criteria",
    ),
    ActionSpec(
        "DataTransfer",
        (_f("vendorId", TXT, True, max_length=255), _f("messageId", TXT, max_length=50), _f("data", TXT)),
        "Vendor-specific data",
    ),
    ActionSpec(
        "GetCompositeSchedule",
        (
            _f("connectorId", INT, True),
            _f("duration", INT, True, example="3600"),
            _f("chargingRateUnit", CHO, choices=("A", "W")),
        ),
        "The schedule the charger will follow",
    ),
    ActionSpec(
        "GetConfiguration",
        (_f("key", LST, example="HeartbeatInterval, MeterValueSampleInterval"),),
        "Read configuration keys (none: all)",
    ),
    ActionSpec(
        "GetDiagnostics",
        (
            _f("location", URL, True, example="ftp://logs.example.com/"),
            _f("retries", INT),
            _f("retryInterval", INT),
            _f("startTime", DT, example=_WHEN),
            _f("stopTime", DT, example=_WHEN),
        ),
        "Upload a diagnostics file",
    ),
    ActionSpec("GetLocalListVersion", (), "The local authorization list's version"),
    ActionSpec(
        "RemoteStartTransaction",
        (
            _f("connectorId", INT, example="1"),
            _f("idTag", TXT, True, max_length=20),
            _f("chargingProfile", OBJ, example=_PROFILE),
        ),
        "Start a session for an id tag",
    ),
    ActionSpec("RemoteStopTransaction", (_f("transactionId", INT, True),), "Stop a session"),
    ActionSpec(
        "ReserveNow",
        (
            _f("connectorId", INT, True),
            _f("expiryDate", DT, True, example=_WHEN),
            _f("idTag", TXT, True, max_length=20),
            _f("parentIdTag", TXT, max_length=20),
            _f("reservationId", INT, True),
        ),
        "Reserve a connector for an id tag",
    ),
    ActionSpec("Reset", (_f("type", CHO, True, choices=("Hard", "Soft")),), "Reboot the charger"),
    ActionSpec(
        "SendLocalList",
        (
            _f("listVersion", INT, True),
            _f(
                "localAuthorizationList",
                ARR,
                example='[{"idTag": "TAG1", "idTagInfo": {"status": "Accepted"}}]',
            ),
            _f("updateType", CHO, True, choices=("Differential", "Full")),
        ),
        "Replace or update the local authorization list",
    ),
    ActionSpec(
        "SetChargingProfile",
        (_f("connectorId", INT, True, example="0"), _f("csChargingProfiles", OBJ, True, example=_PROFILE)),
        "Install a charging profile",
    ),
    ActionSpec(
        "TriggerMessage",
        (_f("requestedMessage", CHO, True, choices=_TRIGGERS), _f("connectorId", INT)),
        "Ask the charger to send a message now",
    ),
    ActionSpec("UnlockConnector", (_f("connectorId", INT, True, example="1"),), "Unlock a connector's cable"),
    ActionSpec(
        "UpdateFirmware",
        (
            _f("location", URL, True, example="https://fw.example.com/fw.bin"),
            _f("retries", INT),
            _f("retrieveDate", DT, True, example=_WHEN),
            _f("retryInterval", INT),
        ),
        "Download and install firmware",
    ),
    ActionSpec(
        "CertificateSigned",
        (_f("certificateChain", TXT, True, max_length=10000),),
        "Install a signed charge point certificate",
        security=True,
    ),
    ActionSpec(
        "DeleteCertificate",
        (
            _f(
                "certificateHashData",
                OBJ,
                True,
                example=(
                    '{"hashAlgorithm": "SHA256", "issuerNameHash": "", "issuerKeyHash": "", '
                    '"serialNumber": ""}'
                ),
            ),
        ),
        "Delete an installed certificate",
        security=True,
    ),
    ActionSpec(
        "ExtendedTriggerMessage",
        (_f("requestedMessage", CHO, True, choices=_EXT_TRIGGERS), _f("connectorId", INT)),
        "Trigger a message (security extension)",
        security=True,
    ),
    ActionSpec(
        "GetInstalledCertificateIds",
        (_f("certificateType", CHO, True, choices=_CERT_TYPES),),
        "List installed certificates",
        security=True,
    ),
    ActionSpec(
        "GetLog",
        (
            _f("log", OBJ, True, example='{"remoteLocation": "https://logs.example.com/"}'),
            _f("logType", CHO, True, choices=("DiagnosticsLog", "SecurityLog")),
            _f("requestId", INT, True),
            _f("retries", INT),
            _f("retryInterval", INT),
        ),
        "Upload a diagnostics or security log",
        security=True,
    ),
    ActionSpec(
        "InstallCertificate",
        (
            _f("certificateType", CHO, True, choices=_CERT_TYPES),
            _f("certificate", TXT, True, max_length=5500),
        ),
        "Install a root certificate",
        security=True,
    ),
    ActionSpec(
        "SignedUpdateFirmware",
        (
            _f("retries", INT),
            _f("retryInterval", INT),
            _f("requestId", INT, True),
            _f(
                "firmware",
                OBJ,
                True,
                example=(
                    '{"location": "https://fw.example.com/fw.bin", '
                    '"retrieveDateTime": "2030-01-01T12:00:00Z", '
                    '"signingCertificate": "", "signature": ""}'
                ),
            ),
        ),
        "Signed firmware update",
        security=True,
    ),
)

ACTIONS: dict[str, ActionSpec] = {spec.name: spec for spec in _SPECS}
"""Every CSMS-initiated action, by name, in the order the picker lists them."""

CHARGER_ACTIONS = frozenset({
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction", "StatusNotification",
    "StopTransaction",
    # security extension
    "LogStatusNotification", "SecurityEventNotification", "SignCertificate",
    "SignedFirmwareStatusNotification",
})  # fmt: skip
"""The charger-initiated OCPP 1.6 actions (for the inspector's filter)."""

ALL_ACTIONS = frozenset(ACTIONS) | CHARGER_ACTIONS


def _parse(spec: FieldSpec, text: str) -> object:  # noqa: PLR0912 - one branch per field kind
    """One field's text as its payload value; raises ValueError with the reason."""
    kind = spec.kind
    if kind is FieldKind.INTEGER:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
    if kind is FieldKind.CHOICE:
        if text not in spec.choices:
            raise ValueError(f"expected one of {', '.join(spec.choices)}")
        return text
    if kind is FieldKind.DATETIME:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected an ISO 8601 date-time such as {_WHEN}, got {text!r}") from None
        if when.tzinfo is None:
            # A charger reads a time without an offset however it likes; make the operator say which.
            raise ValueError("add a time zone (Z or +hh:mm)")
        return text
    if kind is FieldKind.URI:
        parsed = urlparse(text)
        if not parsed.scheme or not (parsed.netloc or parsed.path):
            raise ValueError(f"expected a URL such as ftp://host/path, got {text!r}")
        return text
    if kind in (FieldKind.OBJECT, FieldKind.ARRAY):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        expected = dict if kind is FieldKind.OBJECT else list
        if not isinstance(value, expected):
            raise ValueError(f"expected a JSON {'object' if expected is dict else 'array'}")
        return value
    if kind is FieldKind.TEXT_LIST:
        return [word.strip() for word in text.split(",") if word.strip()]
    if spec.max_length is not None and len(text) > spec.max_length:
        raise ValueError(f"at most {spec.max_length} characters, got {len(text)}")
    return text


def parse_form(spec: ActionSpec, values: dict[str, str]) -> dict[str, object]:
    """The request payload for `values` (field name -> typed text); raises `FormError` listing every problem.

    Empty optional fields are left out of the payload rather than sent as "" (which the schema refuses).
    """
    payload: dict[str, object] = {}
    errors: dict[str, str] = {}
    for field in spec.fields:
        text = (
            values.get(field.name, "").strip()
            if field.kind is not FieldKind.TEXT
            else values.get(field.name, "")
        )
        if not text.strip():
            if field.required:
                errors[field.name] = "required"
            continue
        try:
            payload[field.name] = _parse(field, text)
        except ValueError as exc:
            errors[field.name] = str(exc)
    if errors:
        raise FormError(errors)
    return payload
