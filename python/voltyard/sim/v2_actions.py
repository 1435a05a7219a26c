"""The answers of a simulated OCPP 2.0.1 / 2.1 charger to every CSMS-initiated action of its version.

The core set has behaviour: RequestStart/StopTransaction start and stop sessions, Reset reboots,
ChangeAvailability and UnlockConnector act on the EVSEs, Set/ClearChargingProfile and GetCompositeSchedule
use the 1.6 profile logic (`smart_charging`) on the 2.x profile form, Get/SetVariables and GetBaseReport
(with its NotifyReport parts) serve the device model, TriggerMessage sends what is asked. Every other
action of the version's table (`ACTION_TABLES`, CSMS-initiated) is answered with the smallest answer its
response schema allows, a "not supported / rejected" status where the schema has one, so that nothing goes
unanswered. As for 1.6, each answer is validated against the version's response schema before it leaves,
and what follows an answer (a reboot, a session start, a report) is scheduled to go after it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Final

from voltyard.errors import ActionNotImplementedError, OcppError, OcppInternalError
from voltyard.ocpp.actions import ACTION_TABLES, Direction
from voltyard.ocpp.codec import schema_dir
from voltyard.ocpp.timefmt import utc_now
from voltyard.sim import behaviour, v2_device_model, v2_messages
from voltyard.sim.craft import schema_example
from voltyard.sim.meter import Connector
from voltyard.sim.smart_charging import Profile, Profiles

if TYPE_CHECKING:
    from voltyard.sim.charger import SimCharger

__all__ = ["HANDLERS", "answer", "minimal_answer"]

Payload = dict[str, Any]
Handler = Callable[["SimCharger", Payload], Payload]

# 2.x profile purposes in the 1.6 names `smart_charging` works with (the external constraints of a
# 2.x station cap it as its own maximum does).
_PURPOSE: Final = {
    "ChargingStationMaxProfile": "ChargePointMaxProfile",
    "ChargingStationExternalConstraints": "ChargePointMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
# Preferred statuses of an answer the simulator has no behaviour for: say so rather than pretend.
_DECLINE: Final = ("NotSupported", "NotImplemented", "Rejected", "Unknown", "Failed")


def answer(charger: SimCharger, action: str, payload: Payload) -> Payload:
    """The response to `action`; raises an `OcppError` to answer with a CALLERROR."""
    handler = HANDLERS.get(action)
    if handler is not None:
        result = handler(charger, payload)
    elif action in _csms_actions(charger.version):
        result = minimal_answer(charger.version, action)
    else:
        raise ActionNotImplementedError(
            f"{action} is not an action an OCPP {charger.version} station answers"
        )
    try:
        charger.codec.validate(action, result, response=True)
    except OcppError as exc:
        raise OcppInternalError(f"the simulator built an invalid {action} answer: {exc}") from exc
    return result


@cache
def _csms_actions(version: str) -> frozenset[str]:
    """The actions the version's one action table says a CSMS sends (DataTransfer included)."""
    return ACTION_TABLES[version].sent_by(Direction.CSMS)


@cache
def minimal_answer(version: str, action: str) -> Payload:
    """The smallest valid response of `action` (a declining status where its schema has one)."""
    file = schema_dir(version) / f"{action}Response.json"
    schema: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    value = schema_example(schema)
    assert isinstance(value, dict)
    status = schema.get("properties", {}).get("status")
    if status is not None and "status" in value:
        ref = status.get("$ref", "")
        choices = schema.get("definitions", {}).get(ref.rsplit("/", 1)[-1], status).get("enum", [])
        value["status"] = next((choice for choice in _DECLINE if choice in choices), value["status"])
    return value


def _later(charger: SimCharger, callback: Callable[[], object], delay: float = 0.0) -> None:
    if delay <= 0:
        charger.ctx.loop.call_soon(callback)
    else:
        charger.ctx.loop.call_later(delay, callback)


def _evse(charger: SimCharger, evse_id: int | None) -> Connector | None:
    return charger.connector(evse_id) if evse_id is not None else None


# --- transactions ------------------------------------------------------------------------------


def request_start(charger: SimCharger, payload: Payload) -> Payload:
    token = payload["idToken"]
    tag, token_type = token["idToken"], token["type"]
    evse_id = payload.get("evseId")
    if evse_id is None:
        candidates = [c for c in charger.connectors if c.can_start(tag) and c.pending_tag is None]
        connector = candidates[0] if candidates else None
    else:
        connector = charger.connector(evse_id)
    if connector is None or not connector.can_start(tag) or connector.pending_tag is not None:
        return {"status": "Rejected"}
    raw = payload.get("chargingProfile")
    if raw is not None and raw["chargingProfilePurpose"] != "TxProfile":
        return {"status": "Rejected"}
    remote_start_id = payload["remoteStartId"]
    charger.ctx.stats.counters.remote_starts += 1

    def start() -> None:
        if raw is not None:
            profile = _profile(connector.connector_id, raw)
            if profile is not None:
                _profiles(charger).install(profile)
        if charger.settings.flag("AuthorizeRemoteTxRequests"):
            connector.pending_tag = tag
            connector.remote_start_id = remote_start_id
            if not connector.plugged and connector.plug() is not None:
                behaviour.notify(charger, connector)
            behaviour.authorize(charger, connector, tag, token_type)
        else:
            behaviour.begin_session(
                charger, connector, tag, None, remote_start_id=remote_start_id, token_type=token_type
            )

    _later(charger, start)
    return {"status": "Accepted"}


def request_stop(charger: SimCharger, payload: Payload) -> Payload:
    for connector in charger.connectors:
        session = connector.session
        if session is not None and session.transaction_id == payload["transactionId"]:
            _later(charger, partial(behaviour.end_session, charger, connector, "Remote"))
            return {"status": "Accepted"}
    return {"status": "Rejected"}


def get_transaction_status(charger: SimCharger, payload: Payload) -> Payload:
    wanted = payload.get("transactionId")
    queued = any(
        out.session is not None and (wanted is None or out.session.transaction_id == wanted)
        for out in (*(charger.queue or ()), *((charger.inflight,) if charger.inflight else ()))
    )
    result: Payload = {"messagesInQueue": queued}
    if wanted is not None:
        result["ongoingIndicator"] = any(
            c.session is not None and c.session.transaction_id == wanted for c in charger.connectors
        )
    return result


# --- availability, reset, unlock ---------------------------------------------------------------


def change_availability(charger: SimCharger, payload: Payload) -> Payload:
    operative = payload["operationalStatus"] == "Operative"
    evse = payload.get("evse")
    evse_id = evse["id"] if evse is not None else 0
    targets = charger.connectors if evse_id == 0 else (charger.connector(evse_id),)
    if None in targets:
        return {"status": "Rejected"}
    outcome = "Accepted"
    for connector in targets:
        assert connector is not None
        status, changed = connector.set_operative(operative)
        if status == "Scheduled":
            outcome = "Scheduled"
        if changed is not None:
            _later(charger, partial(behaviour.notify, charger, connector))
    return {"status": outcome}


def reset(charger: SimCharger, payload: Payload) -> Payload:
    if payload.get("evseId") is not None:
        return {"status": "Rejected"}  # an EVSE alone cannot be reset: it has no controller of its own
    busy = any(connector.session is not None for connector in charger.connectors)
    if payload["type"] == "OnIdle" and busy:
        return {"status": "Rejected"}  # no deferred reset: the central system may ask again when idle
    _later(charger, lambda: behaviour.reboot(charger, "ImmediateReset"), 0.05)
    return {"status": "Accepted"}


_FIRMWARE_STEPS: Final = ((0.0, "Downloading"), (0.5, "Downloaded"), (1.0, "Installing"), (1.5, "Installed"))


def update_firmware(charger: SimCharger, payload: Payload) -> Payload:
    # Nothing is really downloaded: the charger walks the statuses of an update that succeeds, each with
    # the request's id, then reboots (BootNotification reason FirmwareUpdate), as a real one would.
    charger.ctx.stats.counters.firmware_updates += 1
    request_id = payload["requestId"]
    for delay, status in _FIRMWARE_STEPS:
        notice = {"status": status, "requestId": request_id}
        _later(charger, partial(charger.call, "FirmwareStatusNotification", notice), delay)
    _later(charger, lambda: behaviour.reboot(charger, "Reboot"), 2.0)
    return {"status": "Accepted"}


def unlock_connector(charger: SimCharger, payload: Payload) -> Payload:
    connector = _evse(charger, payload["evseId"])
    if connector is None or payload["connectorId"] != 1:
        return {"status": "UnknownConnector"}
    if connector.session is not None:
        return {"status": "OngoingAuthorizedTransaction"}
    return {"status": "Unlocked"}


def data_transfer(charger: SimCharger, payload: Payload) -> Payload:
    return {"status": "UnknownVendorId"}


# --- device model ------------------------------------------------------------------------------


def get_variables(charger: SimCharger, payload: Payload) -> Payload:
    return {
        "getVariableResult": [
            v2_device_model.get_result(charger, item) for item in payload["getVariableData"]
        ]
    }


def set_variables(charger: SimCharger, payload: Payload) -> Payload:
    results = []
    for item in payload["setVariableData"]:
        result, changed = v2_device_model.set_result(charger, item)
        results.append(result)
        if changed == "HeartbeatInterval":
            _later(charger, charger.schedule_heartbeat)
        elif changed == "MeterValueSampleInterval":
            _later(charger, partial(behaviour.restart_sampling, charger))
    return {"setVariableResult": results}


def get_base_report(charger: SimCharger, payload: Payload) -> Payload:
    everything = v2_device_model.variables(charger)
    base = payload["reportBase"]
    if base == "ConfigurationInventory":
        everything = [variable for variable in everything if not variable.readonly]
    elif base == "SummaryInventory":
        everything = [variable for variable in everything if variable.name == "AvailabilityState"]
    _later(charger, partial(_notify_report, charger, payload["requestId"], everything))
    return {"status": "Accepted"}


def _notify_report(charger: SimCharger, request_id: int, found: list[v2_device_model.Variable]) -> None:
    """NotifyReport in parts of ITEMS_PER_REPORT, numbered from 0, `tbc` on every part but the last."""
    size = v2_device_model.ITEMS_PER_REPORT
    parts = [found[start : start + size] for start in range(0, len(found), size)] or [[]]
    generated = utc_now()
    for seq_no, part in enumerate(parts):
        report: Payload = {
            "requestId": request_id,
            "generatedAt": generated,
            "seqNo": seq_no,
            "tbc": seq_no < len(parts) - 1,
        }
        if part:
            report["reportData"] = [v2_device_model.report_data(variable) for variable in part]
        charger.call("NotifyReport", report)


# --- smart charging ----------------------------------------------------------------------------


def _profiles(charger: SimCharger) -> Profiles:
    if charger.profiles is None:
        charger.profiles = Profiles()
    return charger.profiles


def _profile(evse_id: int, raw: Payload) -> Profile | None:
    """A 2.x ChargingProfile as the 1.6 profile `smart_charging` evaluates (its first schedule); None when
    a period has no limit (2.1's setpoint-only periods: nothing the simulated EVSE can cap)."""
    schedule = raw["chargingSchedule"][0]
    periods = []
    for period in schedule["chargingSchedulePeriod"]:
        if period.get("limit") is None:
            return None
        periods.append(
            {key: period[key] for key in ("startPeriod", "limit", "numberPhases") if key in period}
        )
    kind = raw["chargingProfileKind"]
    legacy: Payload = {
        "chargingProfileId": raw["id"],
        "stackLevel": raw["stackLevel"],
        "chargingProfilePurpose": _PURPOSE[raw["chargingProfilePurpose"]],
        "chargingProfileKind": kind if kind in ("Absolute", "Recurring", "Relative") else "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": schedule["chargingRateUnit"],
            "chargingSchedulePeriod": periods,
            **{key: schedule[key] for key in ("startSchedule", "duration") if key in schedule},
        },
        **{
            key: raw[key] for key in ("recurrencyKind", "validFrom", "validTo", "transactionId") if key in raw
        },
    }
    return Profile.from_request(evse_id, legacy, time.time())


def set_charging_profile(charger: SimCharger, payload: Payload) -> Payload:
    evse_id = payload["evseId"]
    raw = payload["chargingProfile"]
    purpose = _PURPOSE.get(raw["chargingProfilePurpose"])
    settings = charger.settings
    schedules = raw["chargingSchedule"]
    periods = schedules[0]["chargingSchedulePeriod"] if schedules else []
    if (
        purpose is None
        or (evse_id != 0 and charger.connector(evse_id) is None)
        or (purpose == "ChargePointMaxProfile" and evse_id != 0)
        or raw["stackLevel"] > settings.integer("ChargeProfileMaxStackLevel")
        or not periods
        or len(periods) > settings.integer("ChargingScheduleMaxPeriods")
    ):
        return {"status": "Rejected"}
    if purpose == "TxProfile":
        connector = charger.connector(evse_id)
        session = connector.session if connector is not None else None
        wanted = raw.get("transactionId")
        if session is None or (wanted is not None and wanted != session.transaction_id):
            return {"status": "Rejected"}
    profile = _profile(evse_id, raw)
    profiles = _profiles(charger)
    if profile is None or len(profiles.installed) >= settings.integer("MaxChargingProfilesInstalled"):
        return {"status": "Rejected"}
    profiles.install(profile)
    charger.ctx.stats.counters.profiles_accepted += 1
    _later(charger, partial(_limits_changed, charger))
    return {"status": "Accepted"}


def _limits_changed(charger: SimCharger) -> None:
    behaviour.refresh_limits(charger)
    charger.ctx.on_change(charger)


def clear_charging_profile(charger: SimCharger, payload: Payload) -> Payload:
    criteria = payload.get("chargingProfileCriteria") or {}
    purpose = criteria.get("chargingProfilePurpose")
    request = {
        "id": payload.get("chargingProfileId"),
        "connectorId": criteria.get("evseId"),
        "chargingProfilePurpose": _PURPOSE.get(purpose) if purpose is not None else None,
        "stackLevel": criteria.get("stackLevel"),
    }
    if charger.profiles is None or not charger.profiles.clear(request):
        return {"status": "Unknown"}
    _later(charger, partial(_limits_changed, charger))
    return {"status": "Accepted"}


def get_composite_schedule(charger: SimCharger, payload: Payload) -> Payload:
    evse_id = payload["evseId"]
    connector = charger.connector(evse_id)
    if evse_id != 0 and connector is None:
        return {"status": "Rejected"}
    now = time.time()
    limit = behaviour.limit_in_force_w(charger, evse_id, now)
    if limit is None:
        return {"status": "Rejected"}  # no profile in force: nothing to compose
    unit = payload.get("chargingRateUnit", "W")
    phases = connector.phases if connector is not None else 3
    value = limit if unit == "W" else limit / (230.0 * phases)
    return {
        "status": "Accepted",
        "schedule": {
            "evseId": evse_id,
            "duration": payload["duration"],
            "scheduleStart": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": round(value, 1)}],
        },
    }


# --- TriggerMessage ----------------------------------------------------------------------------

_TRIGGERABLE: Final = frozenset({
    "BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "TransactionEvent",
    "FirmwareStatusNotification", "LogStatusNotification",
})  # fmt: skip


def trigger_message(charger: SimCharger, payload: Payload) -> Payload:
    requested = payload["requestedMessage"]
    evse = payload.get("evse")
    evse_id = evse["id"] if evse is not None else None
    if evse_id and charger.connector(evse_id) is None:
        return {"status": "Rejected"}
    if requested not in _TRIGGERABLE:
        return {"status": "NotImplemented"}
    _later(charger, partial(_send_triggered, charger, requested, evse_id))
    return {"status": "Accepted"}


def _send_triggered(charger: SimCharger, requested: str, evse_id: int | None) -> None:
    targets = (
        charger.connectors if not evse_id else [c for c in (charger.connector(evse_id),) if c is not None]
    )
    if requested == "BootNotification":
        charger.call("BootNotification", v2_messages.boot(charger.template, charger.charger_id, "Triggered"))
    elif requested == "Heartbeat":
        charger.call("Heartbeat", {})
    elif requested in ("FirmwareStatusNotification", "LogStatusNotification"):
        charger.call(requested, {"status": "Idle"})
    for connector in targets:
        if requested == "StatusNotification":
            behaviour.notify(charger, connector)
        elif requested == "MeterValues":
            charger.call("MeterValues", v2_messages.meter_values(connector, "Trigger"))
        elif requested == "TransactionEvent" and connector.session is not None:
            event = v2_messages.transaction_event(
                connector, connector.session, "Updated", "Trigger", context="Trigger"
            )
            charger.call("TransactionEvent", event, connector.session, connector)


HANDLERS: dict[str, Handler] = {
    "ChangeAvailability": change_availability,
    "ClearChargingProfile": clear_charging_profile,
    "DataTransfer": data_transfer,
    "GetBaseReport": get_base_report,
    "GetCompositeSchedule": get_composite_schedule,
    "GetTransactionStatus": get_transaction_status,
    "GetVariables": get_variables,
    "RequestStartTransaction": request_start,
    "RequestStopTransaction": request_stop,
    "Reset": reset,
    "SetChargingProfile": set_charging_profile,
    "SetVariables": set_variables,
    "TriggerMessage": trigger_message,
    "UnlockConnector": unlock_connector,
    "UpdateFirmware": update_firmware,
}
