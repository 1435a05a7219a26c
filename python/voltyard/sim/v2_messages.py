"""The messages a simulated OCPP 2.0.1 / 2.1 charger sends, built from the same facts as its 1.6 messages.

One 1.6 connector is one 2.x EVSE with one connector (EVSE n, connector 1), as the central system maps
them. Statuses, stop reasons and meter readings are 1.6's, translated here once: the charger's state
machine and meter stay version-free. Every payload here validates against both versions' schemas (the
messages the simulator uses have the same shape in 2.0.1 and 2.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from voltyard.ocpp.timefmt import utc_now
from voltyard.sim.evse import (
    AVAILABLE,
    CHARGING,
    FAULTED,
    RESERVED,
    SUSPENDED_EV,
    SUSPENDED_EVSE,
    UNAVAILABLE,
    Session,
)
from voltyard.sim.meter import Connector, sampled_values

if TYPE_CHECKING:
    from voltyard.sim.templates import StationTemplate

__all__ = [
    "boot",
    "boot_reason",
    "charging_state",
    "connector_status",
    "id_token",
    "meter_values",
    "status_notification",
    "transaction_event",
]

# ChargePointStatus (1.6) -> ConnectorStatusEnumType (2.x): the five 2.x statuses; the session's
# finer state goes to TransactionEvent's chargingState instead.
_CONNECTOR_STATUS: Final = {
    AVAILABLE: "Available", RESERVED: "Reserved", UNAVAILABLE: "Unavailable", FAULTED: "Faulted",
}  # fmt: skip
_CHARGING_STATE: Final = {CHARGING: "Charging", SUSPENDED_EV: "SuspendedEV", SUSPENDED_EVSE: "SuspendedEVSE"}
# A 1.6 stop reason -> (2.x stoppedReason, the triggerReason of the Ended event).
_STOP: Final = {
    "Local": ("Local", "StopAuthorized"),
    "EVDisconnected": ("EVDisconnected", "EVCommunicationLost"),
    "Remote": ("Remote", "RemoteStop"),
    "Other": ("Other", "AbnormalCondition"),
    "PowerLoss": ("PowerLoss", "AbnormalCondition"),
    "HardReset": ("ImmediateReset", "ResetCommand"),
    "SoftReset": ("ImmediateReset", "ResetCommand"),
    "ImmediateReset": ("ImmediateReset", "ResetCommand"),
    "Reboot": ("Reboot", "ResetCommand"),
    "UnlockCommand": ("Other", "UnlockCommand"),
    "DeAuthorized": ("DeAuthorized", "Deauthorized"),
    "EmergencyStop": ("EmergencyStop", "AbnormalCondition"),
}


def boot(template: StationTemplate | None, charger_id: str, reason: str = "PowerUp") -> dict[str, Any]:
    """BootNotification: the station's identity (a template's, else the simulator's defaults)."""
    if template is None:
        station: dict[str, Any] = {
            "model": "SimCharger",
            "vendorName": "Voltyard",
            "serialNumber": charger_id[-25:],
            "firmwareVersion": "sim-1.0",
        }
    else:
        station = {
            "model": template.model,
            "vendorName": template.vendor,
            "serialNumber": template.serial_for(charger_id),
            "firmwareVersion": template.firmware,
        }
        modem = {key: value for key, value in (("iccid", template.iccid), ("imsi", template.imsi)) if value}
        if modem:
            station["modem"] = modem
    return {"chargingStation": {k: v for k, v in station.items() if v}, "reason": reason}


def connector_status(connector: Connector) -> str:
    """The 2.x connector status of a 1.6 status: anything with a cable or a session is Occupied."""
    return _CONNECTOR_STATUS.get(connector.status, "Occupied")


def charging_state(connector: Connector) -> str:
    state = _CHARGING_STATE.get(connector.status)
    if state is not None:
        return state
    return "EVConnected" if connector.plugged else "Idle"


def status_notification(connector: Connector) -> dict[str, Any]:
    return {
        "timestamp": utc_now(),
        "connectorStatus": connector_status(connector),
        "evseId": connector.connector_id,
        "connectorId": 1,
    }


def id_token(tag: str, token_type: str = "ISO14443") -> dict[str, Any]:
    return {"idToken": tag, "type": token_type}


def meter_value(connector: Connector, context: str = "Sample.Periodic") -> list[dict[str, Any]]:
    """The connector's readings (1.6's `sampled_values`) in the 2.x form: numbers, `unitOfMeasure`."""
    values = []
    for reading in sampled_values(connector, context)[0]["sampledValue"]:
        values.append({
            "value": float(reading["value"]),
            "context": reading["context"],
            "measurand": reading["measurand"],
            "unitOfMeasure": {"unit": reading["unit"]},
        })  # fmt: skip
    return [{"timestamp": utc_now(), "sampledValue": values}]


def meter_values(connector: Connector, context: str = "Sample.Periodic") -> dict[str, Any]:
    """MeterValues outside a transaction (triggered, or load)."""
    return {"evseId": connector.connector_id, "meterValue": meter_value(connector, context)}


def transaction_event(
    connector: Connector,
    session: Session,
    event_type: str,
    trigger: str,
    *,
    stop_reason: str | None = None,
    context: str | None = None,
) -> dict[str, Any]:
    """A TransactionEvent of `session` (its next seqNo): Started with the IdToken and the EVSE, Updated with
    meter values, Ended with the stopped reason; each with the connector's charging state now."""
    assert isinstance(session.transaction_id, str)
    info: dict[str, Any] = {
        "transactionId": session.transaction_id,
        "chargingState": charging_state(connector),
    }
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": utc_now(),
        "triggerReason": trigger,
        "seqNo": session.seq_no,
        "transactionInfo": info,
    }
    session.seq_no += 1
    if event_type == "Started":
        payload["idToken"] = id_token(session.id_tag, session.token_type)
        payload["evse"] = {"id": connector.connector_id, "connectorId": 1}
        if session.remote_start_id is not None:
            info["remoteStartId"] = session.remote_start_id
        if session.reservation_id is not None:
            payload["reservationId"] = session.reservation_id
    elif event_type == "Ended":
        info["stoppedReason"] = stop_reason or "Other"
    if context is not None:
        payload["meterValue"] = meter_value(connector, context)
    return payload


# Why a 2.x charger boots again after `behaviour.reboot(reason)` (BootReasonEnumType).
_BOOT: Final = {"ImmediateReset": "RemoteReset", "HardReset": "RemoteReset", "SoftReset": "RemoteReset",
                "Reboot": "FirmwareUpdate"}  # fmt: skip


def boot_reason(reboot_reason: str) -> str:
    """The BootNotification reason after a reboot for `reboot_reason` (a power cut: PowerUp)."""
    return _BOOT.get(reboot_reason, "PowerUp")


def stop_reasons(reason: str) -> tuple[str, str]:
    """(stoppedReason, triggerReason) of a 1.6 stop reason."""
    return _STOP.get(reason, ("Other", "AbnormalCondition"))
