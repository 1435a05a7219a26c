"""The answers of a simulated charger to every CSMS-initiated OCPP 1.6 action (core and security extension).

Each handler returns the response payload; what must happen after the answer has left (a reboot, a
triggered message, firmware progress) is scheduled with `call_soon` or a timer, so the CALLRESULT goes
first, as on a real charger. Requests arrive already validated by the native codec; answers are checked
against their response schema before they leave, so a simulator bug cannot pass for a server bug.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from voltyard.errors import ActionNotImplementedError, OcppError, OcppInternalError
from voltyard.sim import behaviour
from voltyard.sim.csms_security import SECURITY_HANDLERS
from voltyard.sim.evse import Reservation
from voltyard.sim.meter import Connector
from voltyard.sim.smart_charging import Profile, Profiles, parse_time
from voltyard.sim.triggers import send_triggered

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["HANDLERS", "answer"]

Payload = dict[str, Any]
Handler = Callable[["SimCharger", Payload], Payload]


def answer(charger: SimCharger, action: str, payload: Payload) -> Payload:
    """The response to `action`; raises an `OcppError` to answer with a CALLERROR."""
    handler = HANDLERS.get(action)
    if handler is None:
        raise ActionNotImplementedError(f"{action} is not an action a charge point answers")
    result = handler(charger, payload)
    try:
        charger.ctx.codec.validate(action, result, response=True)
    except OcppError as exc:
        raise OcppInternalError(f"the simulator built an invalid {action} answer: {exc}") from exc
    return result


def _later(charger: SimCharger, delay: float, callback: Callable[[], object]) -> None:
    if delay <= 0:
        charger.ctx.loop.call_soon(callback)
    else:
        charger.ctx.loop.call_later(delay, callback)


# --- core profile ------------------------------------------------------------------------------


def remote_start(charger: SimCharger, payload: Payload) -> Payload:
    tag = payload["idTag"]
    connector_id = payload.get("connectorId")
    if connector_id is None:
        candidates = [c for c in charger.connectors if c.can_start(tag)]
        connector = candidates[0] if candidates else None
    else:
        connector = charger.connector(connector_id)
    if connector is None or not connector.can_start(tag) or connector.pending_tag is not None:
        return {"status": "Rejected"}
    profile = payload.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        return {"status": "Rejected"}
    charger.ctx.stats.counters.remote_starts += 1

    def start() -> None:
        if profile is not None:
            _profiles(charger).install(Profile.from_request(connector.connector_id, profile, time.time()))
        if charger.settings.flag("AuthorizeRemoteTxRequests"):
            connector.pending_tag = tag
            if not connector.plugged and connector.plug() is not None:
                behaviour.notify(charger, connector)
            charger.call("Authorize", {"idTag": tag}, connector=connector)
        else:
            behaviour.begin_session(charger, connector, tag, None)

    _later(charger, 0, start)
    return {"status": "Accepted"}


def remote_stop(charger: SimCharger, payload: Payload) -> Payload:
    for connector in charger.connectors:
        session = connector.session
        if session is not None and session.transaction_id == payload["transactionId"]:
            _later(charger, 0, partial(behaviour.end_session, charger, connector, "Remote"))
            return {"status": "Accepted"}
    return {"status": "Rejected"}


def change_availability(charger: SimCharger, payload: Payload) -> Payload:
    connector_id = payload["connectorId"]
    operative = payload["type"] == "Operative"
    targets = charger.connectors if connector_id == 0 else (charger.connector(connector_id),)
    if None in targets:
        return {"status": "Rejected"}
    outcome = "Accepted"
    for connector in targets:
        assert connector is not None
        status, changed = connector.set_operative(operative)
        if status == "Scheduled":
            outcome = "Scheduled"
        if changed is not None:
            _later(charger, 0, partial(behaviour.notify, charger, connector))
    return {"status": outcome}


def reset(charger: SimCharger, payload: Payload) -> Payload:
    reason = "HardReset" if payload["type"] == "Hard" else "SoftReset"
    _later(charger, 0.05, lambda: behaviour.reboot(charger, reason))
    return {"status": "Accepted"}


def unlock_connector(charger: SimCharger, payload: Payload) -> Payload:
    connector = charger.connector(payload["connectorId"])
    if connector is None:
        return {"status": "NotSupported"}
    if connector.session is not None:
        behaviour.end_session(charger, connector, "UnlockCommand")
    return {"status": "Unlocked"}


def get_configuration(charger: SimCharger, payload: Payload) -> Payload:
    return charger.settings.report(payload.get("key"))


def change_configuration(charger: SimCharger, payload: Payload) -> Payload:
    key = payload["key"]
    status = charger.settings.change(key, payload["value"])
    if status == "Accepted":
        if key == "HeartbeatInterval":
            charger.schedule_heartbeat()
        elif key == "MeterValueSampleInterval":
            behaviour.restart_sampling(charger)
    return {"status": status}


def clear_cache(charger: SimCharger, payload: Payload) -> Payload:
    return {"status": "Accepted"}


def data_transfer(charger: SimCharger, payload: Payload) -> Payload:
    return {"status": "UnknownVendorId"}


_TRIGGERABLE = frozenset({
    "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
    "MeterValues", "StatusNotification",
})  # fmt: skip


def trigger_message(charger: SimCharger, payload: Payload) -> Payload:
    requested = payload["requestedMessage"]
    connector_id = payload.get("connectorId")
    if connector_id is not None and connector_id != 0 and charger.connector(connector_id) is None:
        return {"status": "Rejected"}
    if requested not in _TRIGGERABLE:
        return {"status": "NotImplemented"}
    _later(charger, 0, lambda: send_triggered(charger, requested, connector_id))
    return {"status": "Accepted"}


def get_diagnostics(charger: SimCharger, payload: Payload) -> Payload:
    # Nothing is really uploaded: the simulator reports the upload as a charger that succeeded would.
    for delay, status in ((0.0, "Uploading"), (0.5, "Uploaded")):
        _later(charger, delay, partial(charger.call, "DiagnosticsStatusNotification", {"status": status}))
    return {"fileName": f"diagnostics-{charger.charger_id}.log"}


def update_firmware(charger: SimCharger, payload: Payload) -> Payload:
    # Nothing is really downloaded: the charger walks the statuses of an update that succeeds, then reboots.
    charger.ctx.stats.counters.firmware_updates += 1
    steps = ((0.0, "Downloading"), (0.5, "Downloaded"), (1.0, "Installing"), (1.5, "Installed"))
    for delay, status in steps:
        _later(charger, delay, partial(charger.call, "FirmwareStatusNotification", {"status": status}))
    _later(charger, 2.0, lambda: behaviour.reboot(charger, "Reboot"))
    return {}


# --- local authorization list ------------------------------------------------------------------


def send_local_list(charger: SimCharger, payload: Payload) -> Payload:
    if not charger.settings.flag("LocalAuthListEnabled"):
        return {"status": "NotSupported"}
    version = payload["listVersion"]
    entries = payload.get("localAuthorizationList", [])
    if len(entries) > charger.settings.integer("SendLocalListMaxLength"):
        return {"status": "Failed"}
    if payload["updateType"] == "Full":
        current: dict[str, Payload] = {}
    else:
        if version <= charger.local_list_version:
            return {"status": "VersionMismatch"}
        current = dict(charger.local_list or {})
    for entry in entries:
        info = entry.get("idTagInfo")
        if info is None:
            current.pop(entry["idTag"], None)
        else:
            current[entry["idTag"]] = info
    if len(current) > charger.settings.integer("LocalAuthListMaxLength"):
        return {"status": "Failed"}
    charger.local_list = current or None
    charger.local_list_version = version
    return {"status": "Accepted"}


def get_local_list_version(charger: SimCharger, payload: Payload) -> Payload:
    if not charger.settings.flag("LocalAuthListEnabled"):
        return {"listVersion": -1}
    return {"listVersion": charger.local_list_version if charger.local_list else 0}


# --- reservations ------------------------------------------------------------------------------


def reserve_now(charger: SimCharger, payload: Payload) -> Payload:
    connector = charger.connector(payload["connectorId"])
    if connector is None:
        return {"status": "Rejected"}  # connector 0 reservations: ReserveConnectorZeroSupported is false
    expiry = parse_time(payload["expiryDate"]) or 0.0
    reservation = Reservation(payload["reservationId"], payload["idTag"], expiry, payload.get("parentIdTag"))
    status, changed = connector.reserve(reservation)
    if status == "Accepted":
        if changed is not None:
            _later(charger, 0, lambda: behaviour.notify(charger, connector))
        remaining = max(0.0, expiry - time.time())
        _later(charger, remaining, lambda: _expire(charger, connector, reservation))
    return {"status": status}


def _expire(charger: SimCharger, connector: Connector, reservation: Reservation) -> None:
    if connector.reservation is reservation and connector.cancel_reservation() is not None:
        behaviour.notify(charger, connector)


def cancel_reservation(charger: SimCharger, payload: Payload) -> Payload:
    for connector in charger.connectors:
        reservation = connector.reservation
        if reservation is not None and reservation.reservation_id == payload["reservationId"]:
            if connector.cancel_reservation() is not None:
                _later(charger, 0, partial(behaviour.notify, charger, connector))
            return {"status": "Accepted"}
    return {"status": "Rejected"}


# --- smart charging ----------------------------------------------------------------------------


def _profiles(charger: SimCharger) -> Profiles:
    if charger.profiles is None:
        charger.profiles = Profiles()
    return charger.profiles


def set_charging_profile(charger: SimCharger, payload: Payload) -> Payload:
    connector_id = payload["connectorId"]
    raw = payload["csChargingProfiles"]
    purpose = raw["chargingProfilePurpose"]
    settings = charger.settings
    periods = raw["chargingSchedule"]["chargingSchedulePeriod"]
    if (
        (connector_id != 0 and charger.connector(connector_id) is None)
        or (purpose == "ChargePointMaxProfile" and connector_id != 0)
        or raw["stackLevel"] > settings.integer("ChargeProfileMaxStackLevel")
        or not periods
        or len(periods) > settings.integer("ChargingScheduleMaxPeriods")
    ):
        return {"status": "Rejected"}
    if purpose == "TxProfile":
        connector = charger.connector(connector_id)
        session = connector.session if connector is not None else None
        wanted = raw.get("transactionId")
        if session is None or (wanted is not None and wanted != session.transaction_id):
            return {"status": "Rejected"}
    profiles = _profiles(charger)
    if len(profiles.installed) >= settings.integer("MaxChargingProfilesInstalled"):
        return {"status": "Rejected"}
    profiles.install(Profile.from_request(connector_id, raw, time.time()))
    charger.ctx.stats.counters.profiles_accepted += 1
    _later(charger, 0, lambda: _limits_changed(charger))
    return {"status": "Accepted"}


def _limits_changed(charger: SimCharger) -> None:
    behaviour.refresh_limits(charger)
    charger.ctx.on_change(charger)


def clear_charging_profile(charger: SimCharger, payload: Payload) -> Payload:
    if charger.profiles is None or not charger.profiles.clear(payload):
        return {"status": "Unknown"}
    _later(charger, 0, lambda: _limits_changed(charger))
    return {"status": "Accepted"}


def get_composite_schedule(charger: SimCharger, payload: Payload) -> Payload:
    connector_id = payload["connectorId"]
    if connector_id != 0 and charger.connector(connector_id) is None:
        return {"status": "Rejected"}
    now = time.time()
    limit = behaviour.limit_in_force_w(charger, connector_id, now)
    if limit is None:
        return {"status": "Rejected"}  # no profile in force: nothing to compose
    unit = payload.get("chargingRateUnit", "W")
    value = limit if unit == "W" else limit / (230.0 * 3)
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return {
        "status": "Accepted",
        "connectorId": connector_id,
        "scheduleStart": start,
        "chargingSchedule": {
            "duration": payload["duration"],
            "startSchedule": start,
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": round(value, 1)}],
        },
    }


HANDLERS: dict[str, Handler] = {
    "CancelReservation": cancel_reservation,
    "ChangeAvailability": change_availability,
    "ChangeConfiguration": change_configuration,
    "ClearCache": clear_cache,
    "ClearChargingProfile": clear_charging_profile,
    "DataTransfer": data_transfer,
    "GetCompositeSchedule": get_composite_schedule,
    "GetConfiguration": get_configuration,
    "GetDiagnostics": get_diagnostics,
    "GetLocalListVersion": get_local_list_version,
    "RemoteStartTransaction": remote_start,
    "RemoteStopTransaction": remote_stop,
    "ReserveNow": reserve_now,
    "Reset": reset,
    "SendLocalList": send_local_list,
    "SetChargingProfile": set_charging_profile,
    "TriggerMessage": trigger_message,
    "UnlockConnector": unlock_connector,
    "UpdateFirmware": update_firmware,
    **SECURITY_HANDLERS,
}
