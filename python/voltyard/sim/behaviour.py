"""What a simulated charger does: sessions, statuses, meter samples, scenario steps, and answers it gets.

Functions of a `SimCharger` rather than methods, so that the charger module stays the protocol
machinery and this one the charge point's behaviour. Every decision here depends on the charger's own
state and the step being executed, never on wall-clock time, which keeps scenario runs reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voltyard.ocpp.timefmt import utc_now
from voltyard.sim import v2_messages
from voltyard.sim.errors import TransitionError
from voltyard.sim.evse import Session
from voltyard.sim.meter import Connector, sampled_values
from voltyard.sim.plan import ActionRecord, Step

if TYPE_CHECKING:
    from voltyard.sim.charger import OutCall, SimCharger

__all__ = [
    "answered",
    "authorize",
    "begin_session",
    "boot_payload",
    "end_session",
    "failed",
    "notify",
    "perform_step",
    "refresh_limits",
    "send_all_statuses",
    "start_plan",
]

VENDOR = "Voltyard"
MODEL = "SimCharger"


def boot_payload(charger: SimCharger) -> dict[str, Any]:
    template = charger.template
    if charger.v2:
        return v2_messages.boot(template, charger.charger_id, charger.boot_reason)
    if template is None:
        return {
            "chargePointVendor": VENDOR,
            "chargePointModel": MODEL,
            "chargePointSerialNumber": charger.charger_id[-25:],
            "firmwareVersion": "sim-1.0",
            "meterType": "SimMeter",
        }
    payload = {
        "chargePointVendor": template.vendor,
        "chargePointModel": template.model,
        "chargePointSerialNumber": template.serial_for(charger.charger_id),
        "firmwareVersion": template.firmware,
        "meterType": template.meter_type,
    }
    # Optional fields are sent only when the template has them (an empty string is not a value).
    for key, field in (("iccid", "iccid"), ("imsi", "imsi"), ("meter_serial", "meterSerialNumber")):
        value = getattr(template, key)
        if value:
            payload[field] = value
    return {key: value for key, value in payload.items() if value}


def notify(charger: SimCharger, connector: Connector | None, *, front: bool = False) -> None:
    """StatusNotification of a connector (None: connector 0, the charger itself; 1.6 only)."""
    if charger.v2:
        if connector is not None:
            charger.call("StatusNotification", v2_messages.status_notification(connector), front=front)
        return
    if connector is None:
        payload = {"connectorId": 0, "errorCode": "NoError", "status": "Available", "timestamp": utc_now()}
    else:
        payload = {
            "connectorId": connector.connector_id,
            "errorCode": connector.error_code,
            "status": connector.status,
            "timestamp": utc_now(),
        }
    charger.call("StatusNotification", payload, front=front)


def send_all_statuses(charger: SimCharger) -> None:
    """The statuses of connector 0 and every connector, queued behind anything waiting to be replayed.

    History first, then the present: a status sent ahead of a replayed StopTransaction would tell the
    central system that a connector is free while its transaction still looks open.
    """
    notify(charger, None)
    for connector in charger.connectors:
        notify(charger, connector)


def _changed(charger: SimCharger, connector: Connector, status: str | None) -> None:
    if status is not None:
        notify(charger, connector)


# --- sessions ---------------------------------------------------------------------------------


def begin_session(
    charger: SimCharger,
    connector: Connector,
    id_tag: str,
    reservation_id: int | None,
    *,
    remote_start_id: int | None = None,
    token_type: str = "ISO14443",
) -> bool:
    """Start charging on `connector` for `id_tag`; False when its state does not allow it. A 2.x charger
    names the transaction itself and sends TransactionEvent Started (RequestStartTransaction's
    `remote_start_id` and IdToken type go with it)."""
    if not connector.can_start(id_tag):
        return False
    now = charger.ctx.loop.time()
    reservation = connector.reservation
    if reservation_id is None and reservation is not None:
        reservation_id = reservation.reservation_id
    session = Session(id_tag, int(connector.meter_wh), utc_now(), reservation_id)
    before = connector.status
    connector.begin(session)
    connector.session_epoch = time.time()
    connector.sampled_at = now
    refresh_limits(charger, connector, notify_change=False)
    connector.draw()
    _changed(charger, connector, connector.status if connector.status != before else None)
    refresh_limits(charger, skip=connector)  # the other connectors now share the charger's cap
    if charger.v2:
        session.transaction_id = f"{charger.ctx.run_token}-{next(charger.ctx.tx_ids)}"
        session.remote_start_id = remote_start_id
        session.token_type = token_type
        trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        event = v2_messages.transaction_event(
            connector, session, "Started", trigger, context="Transaction.Begin"
        )
        charger.call("TransactionEvent", event, session, connector)
        charger.ctx.stats.counters.sessions_begun += 1
        _ensure_sampling(charger)
        return True
    payload: dict[str, Any] = {
        "connectorId": connector.connector_id,
        "idTag": id_tag,
        "meterStart": session.meter_start,
        "timestamp": session.started,
    }
    if reservation_id is not None:
        payload["reservationId"] = reservation_id
    charger.call("StartTransaction", payload, session, connector)
    charger.ctx.stats.counters.sessions_begun += 1
    _ensure_sampling(charger)
    return True


def end_session(charger: SimCharger, connector: Connector, reason: str) -> bool:
    """Stop the session on `connector` with `reason`; False when none runs."""
    if connector.session is None:
        return False
    connector.integrate(charger.ctx.loop.time())
    session, status = connector.end(reason)
    connector.power_w = 0.0
    connector.session_epoch = None
    if charger.profiles is not None:
        charger.profiles.end_transaction(connector.connector_id)
    refresh_limits(charger, connector, notify_change=False)
    _changed(charger, connector, status)
    refresh_limits(charger, skip=connector)
    if charger.v2:
        stopped, trigger = v2_messages.stop_reasons(reason)
        event = v2_messages.transaction_event(
            connector, session, "Ended", trigger, stop_reason=stopped, context="Transaction.End"
        )
        charger.call("TransactionEvent", event, session, connector)
        charger.ctx.stats.counters.sessions_ended += 1
        return True
    payload: dict[str, Any] = {
        "meterStop": int(connector.meter_wh),
        "timestamp": utc_now(),
        "reason": reason,
        "idTag": session.id_tag,
        "transactionData": sampled_values(connector, "Transaction.End"),
    }
    charger.call("StopTransaction", payload, session, connector)
    charger.ctx.stats.counters.sessions_ended += 1
    return True


def refresh_limits(
    charger: SimCharger,
    connector: Connector | None = None,
    *,
    notify_change: bool = True,
    skip: Connector | None = None,
) -> None:
    """Re-evaluate the profiles for one or every connector; SuspendedEVSE shows when a limit reaches 0."""
    profiles = charger.profiles
    targets = charger.connectors if connector is None else (connector,)
    sharing = sum(1 for c in charger.connectors if c.session is not None)
    now_wall = time.time()
    now = charger.ctx.loop.time()
    for target in targets:
        if target is skip:
            continue
        limit = None
        if profiles is not None:
            session = target.session
            limit = profiles.limit_w(
                target.connector_id,
                now_wall,
                target.session_epoch,
                session.transaction_id if session is not None else None,
                sharing,
            )
        if limit != target.limit_w:
            target.integrate(now)
            status = target.set_limit(limit)
            target.draw()
            if notify_change:
                _changed(charger, target, status)


def _ensure_sampling(charger: SimCharger) -> None:
    if charger.sample_timer is None:
        interval = charger.settings.integer("MeterValueSampleInterval")
        if interval > 0:
            charger.sample_timer = charger.ctx.loop.call_later(interval, _sample, charger)


def _sample(charger: SimCharger) -> None:
    charger.sample_timer = None
    now = charger.ctx.loop.time()
    refresh_limits(charger)
    active = False
    for connector in charger.connectors:
        session = connector.session
        if session is None:
            continue
        active = True
        connector.integrate(now)
        connector.draw()
        if charger.v2:
            event = v2_messages.transaction_event(
                connector, session, "Updated", "MeterValuePeriodic", context="Sample.Periodic"
            )
            charger.call("TransactionEvent", event, session, connector)
            continue
        payload = {"connectorId": connector.connector_id, "meterValue": sampled_values(connector)}
        charger.call("MeterValues", payload, session, connector)
    if active:
        _ensure_sampling(charger)


def restart_sampling(charger: SimCharger) -> None:
    """MeterValueSampleInterval changed: the next sample follows the new interval."""
    if charger.sample_timer is not None:
        charger.sample_timer.cancel()
        charger.sample_timer = None
    if any(c.session is not None for c in charger.connectors):
        _ensure_sampling(charger)


# --- answers -----------------------------------------------------------------------------------


def answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    """What an answer from the central system changes."""
    handler = _ANSWERS.get(out.action)
    if handler is not None:
        handler(charger, out, payload)


def _boot_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    if payload["status"] == "Accepted":
        charger.ctx.stats.counters.boots += 1
        charger.accepted(payload["interval"])
    else:
        charger.retry_boot(payload["interval"])


def _start_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    counters = charger.ctx.stats.counters
    session = out.session
    assert session is not None
    session.transaction_id = payload["transactionId"]
    if payload["idTagInfo"]["status"] == "Accepted":
        counters.starts_accepted += 1
    else:
        counters.starts_refused += 1
        connector = out.connector
        if (
            connector is not None
            and connector.session is session
            and charger.settings.flag("StopTransactionOnInvalidId")
        ):
            end_session(charger, connector, "DeAuthorized")
    charger.ctx.on_change(charger)  # the session now has its transaction id


def _stop_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    charger.ctx.stats.counters.stops_answered += 1


def _event_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    """TransactionEvent (2.x): Started is the 1.6 start's answer (the idTokenInfo says whether the tag is
    accepted; none means no objection), Ended the stop's."""
    event_type = out.payload["eventType"]
    if event_type == "Ended":
        charger.ctx.stats.counters.stops_answered += 1
    elif event_type == "Started":
        counters = charger.ctx.stats.counters
        info = payload.get("idTokenInfo")
        if info is None or info["status"] == "Accepted":
            counters.starts_accepted += 1
        else:
            counters.starts_refused += 1
            session, connector = out.session, out.connector
            if (
                connector is not None
                and session is not None
                and connector.session is session
                and charger.settings.flag("StopTransactionOnInvalidId")
            ):
                end_session(charger, connector, "DeAuthorized")
        charger.ctx.on_change(charger)


def _authorize_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    connector = out.connector
    v2 = "idToken" in out.payload
    request = out.payload["idToken"] if v2 else out.payload
    tag = request["idToken"] if v2 else request["idTag"]
    if connector is None or connector.pending_tag != tag:
        return  # the driver gave up (a stop step) before the answer came
    connector.pending_tag = None
    remote_start_id, connector.remote_start_id = connector.remote_start_id, None
    if payload["idTokenInfo" if v2 else "idTagInfo"]["status"] == "Accepted":
        if v2:
            begin_session(
                charger, connector, tag, None, remote_start_id=remote_start_id, token_type=request["type"]
            )
        else:
            begin_session(charger, connector, tag, None)
    else:
        charger.ctx.stats.counters.starts_refused += 1


def _status_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    if out.payload.get("status", out.payload.get("connectorStatus")) == "Faulted":
        charger.ctx.stats.counters.faults_reported += 1


def _firmware_answered(charger: SimCharger, out: OutCall, payload: dict[str, Any]) -> None:
    counters = charger.ctx.stats.counters
    counters.firmware_statuses += 1
    if out.payload["status"] == "Installed":
        counters.firmware_installed += 1


_ANSWERS: dict[str, Callable[[SimCharger, OutCall, dict[str, Any]], None]] = {
    "BootNotification": _boot_answered,
    "StartTransaction": _start_answered,
    "StopTransaction": _stop_answered,
    "Authorize": _authorize_answered,
    "StatusNotification": _status_answered,
    "TransactionEvent": _event_answered,
    "FirmwareStatusNotification": _firmware_answered,
}


def failed(charger: SimCharger, out: OutCall, code: str) -> None:
    """A call that will not be retried failed; an Authorize that failed leaves the driver waiting no more."""
    if out.action == "Authorize" and out.connector is not None:
        out.connector.pending_tag = None
    elif out.action == "BootNotification":
        charger.retry_boot(5)


# --- scenario steps ----------------------------------------------------------------------------


def start_plan(charger: SimCharger, plan: tuple[Step, ...]) -> None:
    charger.plan = plan
    charger.plan_pos = 0
    _schedule_next(charger)


def _schedule_next(charger: SimCharger) -> None:
    if charger.plan_pos < len(charger.plan) and not charger.stopping:
        step = charger.plan[charger.plan_pos]
        ctx = charger.ctx
        charger.plan_timer = ctx.loop.call_at(ctx.t0 + step.at, _run_step, charger)


def _run_step(charger: SimCharger) -> None:
    charger.plan_timer = None
    step = charger.plan[charger.plan_pos]
    charger.plan_pos += 1
    outcome = perform_step(charger, step)
    charger.ctx.action_log.append(ActionRecord(charger.index, step.at, step.describe(), outcome))
    _schedule_next(charger)


def perform_step(charger: SimCharger, step: Step) -> str:
    """Carry out one step; returns the connector's status afterwards (or why the step did nothing)."""
    connector = charger.connector(step.connector)
    if connector is None:
        return f"no connector {step.connector}"
    try:
        _STEPS[step.kind](charger, connector, step)
    except TransitionError as exc:
        return f"refused ({exc.status})"
    return connector.status


def _plug(charger: SimCharger, connector: Connector, step: Step) -> None:
    _changed(charger, connector, connector.plug())


def _stop(charger: SimCharger, connector: Connector, step: Step) -> None:
    if not end_session(charger, connector, "Local"):
        connector.pending_tag = None


def _unplug(charger: SimCharger, connector: Connector, step: Step) -> None:
    if connector.session is not None:
        end_session(charger, connector, "EVDisconnected")
    if connector.plugged:
        _changed(charger, connector, connector.unplug())


def _suspend(charger: SimCharger, connector: Connector, step: Step) -> None:
    if connector.session is not None:
        connector.integrate(charger.ctx.loop.time())
        status = connector.suspend_ev(step.kind == "suspend_ev")
        connector.draw()
        _changed(charger, connector, status)


def _demand(charger: SimCharger, connector: Connector, step: Step) -> None:
    connector.integrate(charger.ctx.loop.time())
    connector.ev_max_w = step.kw * 1000.0
    connector.draw()


def _fault(charger: SimCharger, connector: Connector, step: Step) -> None:
    inject_fault(charger, connector, step.code or "OtherError")


def _clear_fault(charger: SimCharger, connector: Connector, step: Step) -> None:
    if connector.faulted:
        _changed(charger, connector, connector.clear_fault())


def _swipe(charger: SimCharger, connector: Connector, step: Step) -> None:
    tag = step.tag
    if connector.session is not None or connector.faulted or connector.inoperative:
        return
    if not connector.plugged:
        _changed(charger, connector, connector.plug())
    local = charger.local_list.get(tag) if charger.local_list is not None else None
    locally_accepted = local is not None and local.get("status") == "Accepted"
    settings = charger.settings
    if not charger.online:
        if settings.flag("LocalAuthorizeOffline") and (
            locally_accepted or settings.flag("AllowOfflineTxForUnknownId")
        ):
            begin_session(charger, connector, tag, None)
        return
    if locally_accepted and settings.flag("LocalPreAuthorize"):
        begin_session(charger, connector, tag, None)
        return
    connector.pending_tag = tag
    authorize(charger, connector, tag)


def authorize(charger: SimCharger, connector: Connector, tag: str, token_type: str = "ISO14443") -> None:
    """Ask the central system about `tag` for `connector` (the driver waits: `pending_tag`)."""
    if charger.v2:
        charger.call("Authorize", {"idToken": v2_messages.id_token(tag, token_type)}, connector=connector)
    else:
        charger.call("Authorize", {"idTag": tag}, connector=connector)


def inject_fault(charger: SimCharger, connector: Connector, error_code: str) -> None:
    """A hardware fault: the session (if any) stops, the connector shows Faulted with `error_code`."""
    if connector.faulted:
        return
    end_session(charger, connector, "Other")
    charger.ctx.stats.counters.faults_injected += 1
    _changed(charger, connector, connector.fault(error_code))


# A Heartbeat with a property its schema forbids: every version answers it with the CALLERROR of a
# payload that does not fit its PDU (1.6 FormationViolation, 2.x FormatViolation).
MALFORMED_PAYLOAD: dict[str, Any] = {"malformed": True}


def send_malformed(charger: SimCharger) -> None:
    """Send a frame that breaks its schema on purpose; counted only if it can go (offline it is dropped)."""
    if not charger.online:
        return
    charger.ctx.stats.counters.malformed_sent += 1
    charger.call("Heartbeat", dict(MALFORMED_PAYLOAD))


def reboot(charger: SimCharger, reason: str) -> None:
    """Stop every session with `reason`, lose the connection, come back and boot again."""
    for connector in charger.connectors:
        end_session(charger, connector, reason)
        connector.pending_tag = None
    charger.needs_boot = True
    charger.booted = False
    charger.boot_reason = v2_messages.boot_reason(reason)
    charger.drop()


_STEPS: dict[str, Callable[[SimCharger, Connector, Step], None]] = {
    "plug": _plug,
    "swipe": _swipe,
    "stop": _stop,
    "unplug": _unplug,
    "suspend_ev": _suspend,
    "resume_ev": _suspend,
    "demand": _demand,
    "fault": _fault,
    "clear_fault": _clear_fault,
    "offline": lambda charger, connector, step: charger.drop(step.seconds),
    "drop": lambda charger, connector, step: charger.drop(),
    "reboot": lambda charger, connector, step: reboot(charger, "PowerLoss"),
    "malformed": lambda charger, connector, step: send_malformed(charger),
}


def limit_in_force_w(charger: SimCharger, number: int, now: float) -> float | None:
    """The charging limit (W) the charger's profiles put on connector (1.6) or EVSE (2.x) `number` now (0:
    the whole charger), shared among its sessions as the meter applies it; None with no profile in force.
    What GetCompositeSchedule answers in either version."""
    if charger.profiles is None:
        return None
    connector = charger.connector(number)
    session = connector.session if connector is not None else None
    sharing = max(1, sum(1 for c in charger.connectors if c.session is not None))
    return charger.profiles.limit_w(
        number,
        now,
        connector.session_epoch if connector is not None else None,
        session.transaction_id if session is not None else None,
        sharing,
    )
