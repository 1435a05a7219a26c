"""The one table of actions per OCPP version (1.6 with its security extension, 2.0.1, 2.1), and who may
send each.

The actions are the schemas the codec loads (`ocpp16_schema_dir`: an action has a request and a response
schema, as `OcppCodec.actions` counts them); the direction of each is stated once, here. Every other list
of actions (the router's check, the commands' check, the API's enum, the tests) is a use of this table, so
a schema added to the `ocpp` package without a direction stops the import with an error naming it, instead
of drifting. 2.0.1 and 2.1 name their schemas `<Action>Request.json` / `<Action>Response.json`, and 2.1's
SEND-only messages (NotifyPeriodicEventStream) have one schema and no response: each version's table is built
from its own schemas the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from voltyard.errors import SchemaLoadError
from voltyard.ocpp.codec import OcppVersion, schema_dir

__all__ = [
    "ACTION_TABLES",
    "ANY_CSMS_ACTIONS",
    "CHARGER_ACTIONS",
    "CSMS_ACTIONS",
    "OCPP16",
    "OCPP21",
    "OCPP201",
    "ActionTable",
    "Direction",
]


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

# OCPP 2.0.1 (part 2, the messages of each functional block, and who sends each).
_OCPP201_DIRECTIONS: dict[str, Direction] = {
    "Authorize": _C, "BootNotification": _C, "ClearedChargingLimit": _C, "DataTransfer": _B,
    "FirmwareStatusNotification": _C, "Get15118EVCertificate": _C, "GetCertificateStatus": _C,
    "Heartbeat": _C, "LogStatusNotification": _C, "MeterValues": _C, "NotifyChargingLimit": _C,
    "NotifyCustomerInformation": _C, "NotifyDisplayMessages": _C, "NotifyEVChargingNeeds": _C,
    "NotifyEVChargingSchedule": _C, "NotifyEvent": _C,
    "NotifyMonitoringReport": _C, "NotifyReport": _C, "PublishFirmwareStatusNotification": _C,
    "ReportChargingProfiles": _C, "ReservationStatusUpdate": _C, "SecurityEventNotification": _C,
    "SignCertificate": _C, "StatusNotification": _C, "TransactionEvent": _C,
    "CancelReservation": _S, "CertificateSigned": _S, "ChangeAvailability": _S, "ClearCache": _S,
    "ClearChargingProfile": _S, "ClearDisplayMessage": _S, "ClearVariableMonitoring": _S, "CostUpdated": _S,
    "CustomerInformation": _S, "DeleteCertificate": _S, "GetBaseReport": _S, "GetChargingProfiles": _S,
    "GetCompositeSchedule": _S, "GetDisplayMessages": _S, "GetInstalledCertificateIds": _S,
    "GetLocalListVersion": _S, "GetLog": _S, "GetMonitoringReport": _S, "GetReport": _S,
    "GetTransactionStatus": _S, "GetVariables": _S, "InstallCertificate": _S, "PublishFirmware": _S,
    "RequestStartTransaction": _S, "RequestStopTransaction": _S, "ReserveNow": _S, "Reset": _S,
    "SendLocalList": _S, "SetChargingProfile": _S, "SetDisplayMessage": _S, "SetMonitoringBase": _S,
    "SetMonitoringLevel": _S, "SetNetworkProfile": _S, "SetVariableMonitoring": _S, "SetVariables": _S,
    "TriggerMessage": _S, "UnlockConnector": _S, "UnpublishFirmware": _S, "UpdateFirmware": _S,
}  # fmt: skip

# OCPP 2.1: every 2.0.1 message, and the new ones (bidirectional power, DER control, tariffs and cost,
# battery swap, periodic event streams, priority charging, web payments).
_OCPP21_DIRECTIONS: dict[str, Direction] = {
    **_OCPP201_DIRECTIONS,
    "BatterySwap": _C, "ClosePeriodicEventStream": _C, "GetCertificateChainStatus": _C, "NotifyDERAlarm": _C,
    "NotifyDERStartStop": _C, "NotifyPeriodicEventStream": _C, "NotifyPriorityCharging": _C,
    "NotifySettlement": _C, "OpenPeriodicEventStream": _C, "PullDynamicScheduleUpdate": _C,
    "ReportDERControl": _C, "VatNumberValidation": _C,
    "AFRRSignal": _S, "AdjustPeriodicEventStream": _S, "ChangeTransactionTariff": _S, "ClearDERControl": _S,
    "ClearTariffs": _S, "GetDERControl": _S, "GetPeriodicEventStream": _S, "GetTariffs": _S,
    "NotifyAllowedEnergyTransfer": _S, "NotifyWebPaymentStarted": _S, "RequestBatterySwap": _S,
    "SetDERControl": _S, "SetDefaultTariff": _S, "UpdateDynamicSchedule": _S, "UsePriorityCharging": _S,
}  # fmt: skip


def _schema_actions(version: str, folder: Path) -> set[str]:
    """The actions of `version`'s schemas: a request and a response schema each (2.x: `<Action>Request`),
    and for 2.x a lone schema that is neither (2.1's SEND-only messages)."""
    names = {path.stem for path in folder.glob("*.json")}
    if version == "1.6":
        return {name for name in names if not name.endswith("Response") and f"{name}Response" in names}
    actions = {
        name.removesuffix("Request") for name in names
        if name.endswith("Request") and f"{name.removesuffix('Request')}Response" in names
    }  # fmt: skip
    return actions | {name for name in names if not name.endswith(("Request", "Response"))}


@dataclass(frozen=True, slots=True)
class ActionTable:
    """The actions of one protocol version and the direction of each."""

    version: OcppVersion
    directions: dict[str, Direction]

    @classmethod
    def from_schemas(cls, version: OcppVersion, directions: dict[str, Direction]) -> ActionTable:
        """The table of the actions of `version`'s schemas (in the installed `ocpp` package).

        Raises:
            SchemaLoadError: a schema's action has no stated direction, or a stated one has no schema.
        """
        folder = schema_dir(version)
        actions = _schema_actions(version, folder)
        unknown, missing = actions - directions.keys(), directions.keys() - actions
        if unknown or missing:
            raise SchemaLoadError(
                f"{folder}: the OCPP {version} schemas and the action table differ: "
                f"no direction for {sorted(unknown)}, no schema for {sorted(missing)}"
            )
        return cls(version, dict(sorted(directions.items())))

    def __contains__(self, action: object) -> bool:
        return action in self.directions

    def sent_by(self, direction: Direction) -> frozenset[str]:
        """The actions whose CALL `direction` may send."""
        return frozenset(action for action, sender in self.directions.items() if direction in sender)


OCPP16 = ActionTable.from_schemas("1.6", _OCPP16_DIRECTIONS)
OCPP201 = ActionTable.from_schemas("2.0.1", _OCPP201_DIRECTIONS)
OCPP21 = ActionTable.from_schemas("2.1", _OCPP21_DIRECTIONS)
ACTION_TABLES: dict[str, ActionTable] = {"1.6": OCPP16, "2.0.1": OCPP201, "2.1": OCPP21}
# The actions a charger sends (the router has a handler for each) and those the central system sends.
CHARGER_ACTIONS = OCPP16.sent_by(Direction.CHARGER)
CSMS_ACTIONS = OCPP16.sent_by(Direction.CSMS)
# What the central system may send a charger of some version (the API's enum; each call is checked against
# the charger's own version by `commands`).
ANY_CSMS_ACTIONS = frozenset().union(*(table.sent_by(Direction.CSMS) for table in ACTION_TABLES.values()))
