"""The one table of OCPP 1.6 actions (core profile and the security extension), and who may send each.

The actions are the schemas the codec loads (`ocpp16_schema_dir`: an action has a request and a response
schema, as `OcppCodec.actions` counts them); the direction of each is stated once, here. Every other list
of actions (the router's check, the commands' check, the API's enum, the tests) is a use of this table, so
a schema added to the `ocpp` package without a direction stops the import with an error naming it, instead
of drifting. A second protocol version gets a second table built the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from voltyard.errors import SchemaLoadError
from voltyard.ocpp.codec import ocpp16_schema_dir

__all__ = ["CHARGER_ACTIONS", "CSMS_ACTIONS", "OCPP16", "ActionTable", "Direction"]


class Direction(enum.Flag):
    """Who sends the CALL of an action."""

    CHARGER = enum.auto()  # charge point -> central system
    CSMS = enum.auto()  # central system -> charge point
    BOTH = CHARGER | CSMS


_C, _S, _B = Direction.CHARGER, Direction.CSMS, Direction.BOTH

# The direction of every OCPP 1.6 action, from the specification (and the security whitepaper's list).
_OCPP16_DIRECTIONS: dict[str, Direction] = {
    "Authorize": _C, "BootNotification": _C, "DataTransfer": _B, "DiagnosticsStatusNotification": _C,
    "FirmwareStatusNotification": _C, "Heartbeat": _C, "MeterValues": _C, "StartTransaction": _C,
    "StatusNotification": _C, "StopTransaction": _C,
    "CancelReservation": _S, "ChangeAvailability": _S, "ChangeConfiguration": _S, "ClearCache": _S,
    "ClearChargingProfile": _S, "GetCompositeSchedule": _S, "GetConfiguration": _S, "GetDiagnostics": _S,
    "GetLocalListVersion": _S, "RemoteStartTransaction": _S, "RemoteStopTransaction": _S, "ReserveNow": _S,
    "Reset": _S, "SendLocalList": _S, "SetChargingProfile": _S, "TriggerMessage": _S, "UnlockConnector": _S,
    "UpdateFirmware": _S,
    # Security extension (OCPP 1.6 security whitepaper)
    "LogStatusNotification": _C, "SecurityEventNotification": _C, "SignCertificate": _C,
    "SignedFirmwareStatusNotification": _C,
    "CertificateSigned": _S, "DeleteCertificate": _S, "ExtendedTriggerMessage": _S,
    "GetInstalledCertificateIds": _S, "GetLog": _S, "InstallCertificate": _S, "SignedUpdateFirmware": _S,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActionTable:
    """The actions of one protocol version and the direction of each."""

    version: str
    directions: dict[str, Direction]

    @classmethod
    def from_schemas(cls, version: str, schema_dir: Path, directions: dict[str, Direction]) -> ActionTable:
        """The table of the actions with a request and a response schema in `schema_dir`.

        Raises:
            SchemaLoadError: a schema's action has no stated direction, or a stated one has no schema.
        """
        names = {path.stem for path in schema_dir.glob("*.json")}
        actions = {name for name in names if not name.endswith("Response") and f"{name}Response" in names}
        unknown, missing = actions - directions.keys(), directions.keys() - actions
        if unknown or missing:
            raise SchemaLoadError(
                f"{schema_dir}: the {version} schemas and the action table differ: "
                f"no direction for {sorted(unknown)}, no schema for {sorted(missing)}"
            )
        return cls(version, dict(sorted(directions.items())))

    def __contains__(self, action: object) -> bool:
        return action in self.directions

    def sent_by(self, direction: Direction) -> frozenset[str]:
        """The actions whose CALL `direction` may send."""
        return frozenset(action for action, sender in self.directions.items() if direction in sender)


OCPP16 = ActionTable.from_schemas("OCPP 1.6", ocpp16_schema_dir(), _OCPP16_DIRECTIONS)
# The actions a charger sends (the router has a handler for each) and those the central system sends.
CHARGER_ACTIONS = OCPP16.sent_by(Direction.CHARGER)
CSMS_ACTIONS = OCPP16.sent_by(Direction.CSMS)
