"""One PLC, one gun: the host side of seed 003's driver rules.

The driver keeps the gun's RelayControl going every 100 ms (feeding the bus's heartbeat thread,
`voltyard.can.heartbeat`, which sends it on its own timing whatever the loop does), follows the
PLC's frames, and decides: faults (safety inputs debounced; comm loss, CRC bursts, bus-off,
stale meter, contactor mismatch or weld, over-temperature, a CMD_SEQ never acknowledged), the
session (authorised, plugged, locked, HLC at PowerDelivery, then relay closed = started) and the
connector status. Every fault commands the relay off at once, in the call that detects it, then
stops the session with the fault's reason and reports Faulted; when every fault has cleared it
lets the PLC clear its latched fault and the gun goes back to Available (Finishing while the EV of
the stopped session is still plugged).

It is driven from the event loop only: `on_frame` and friends by the CAN link, `authorize`,
`remote_stop` and `set_available` by the domain. When the loop stalled so long that the heartbeat
opened the relay itself (`timing.feed_timeout_s`), the driver ends the session (reason Other) at
its next tick: the controller was gone, the EV was left without power.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from voltyard.can.config import DriverTiming, GunConfig
from voltyard.can.debounce import Debounced
from voltyard.can.frames import (
    ChargeInfo,
    ConfigAck,
    ConfigCmd,
    ConfigOp,
    ConfigParam,
    ConfigStatus,
    CpState,
    EvdcTargets,
    EvIdentity,
    FaultReason,
    GcmcStatus,
    GunTemperature,
    MeterInstant,
    MeterTotals,
    ModuleStatus,
    PlcFrame,
    RelayStatus,
    SafetySwitchStatus,
)
from voltyard.can.gcmc import GcmcCommander, SlotCommand
from voltyard.can.gun import GunInputs, GunStateMachine
from voltyard.can.heartbeat import HeartbeatSlot, Lapse
from voltyard.can.identity import IdentityAssembler
from voltyard.can.listener import (
    CabinetListener,
    ConnectorStatus,
    ErrorCode,
    FaultCleared,
    FaultKind,
    FaultRaised,
    IdentityReceived,
    MeterSample,
    SessionStarted,
    SessionStopped,
    StatusChanged,
    StopReason,
)
from voltyard.can.relay import RelayCommander
from voltyard.can.schedule import PeriodicTimer
from voltyard.errors import CanCommTimeoutError, CanConfigRejectedError

log = logging.getLogger(__name__)

PLUGGED = frozenset({CpState.B, CpState.C, CpState.D})
EV_READY = frozenset({CpState.C, CpState.D})
# The PLC's own reasons for opening the relay that are safety faults of their own on the host.
_SAFETY_REASONS = frozenset(
    {FaultReason.ESTOP, FaultReason.EARTH_FAULT, FaultReason.SAFETY_CHAIN, FaultReason.ISOLATION_FAULT}
)
# The driver evaluates every relay period (its tick) and on every frame; a longer gap means the event
# loop itself stalled. The frames that arrived meanwhile are then still waiting in the loop (on
# socketcan it reads one per iteration), so for STALL_GRACE_S the silence-based faults (comm_loss,
# meter_stale) are not raised: the loop's silence is not the PLC's. They may still clear.
STALL_PERIODS = 3
STALL_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class Session:
    id_tag: str
    meter_start_wh: int
    started_at: float


class PlcDriver:
    """The driver of the gun `gun` (PLC `gun.plc_id`); `send` puts a frame on the bus."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        gun: GunConfig,
        timing: DriverTiming,
        listener: CabinetListener,
        send: Callable[[PlcFrame], None],
        *,
        heartbeat: HeartbeatSlot | None = None,
    ) -> None:
        self.gun = gun
        self._send = send
        self._loop = loop
        self._timing = timing
        self._listener = listener
        self.relay = RelayCommander(
            loop,
            gun.plc_id,
            send,
            ack_timeout_s=timing.ack_timeout_s,
            ack_attempts=int(timing.ack_attempts),
            on_ack_missing=lambda seq: self._evaluate(),
            on_ack_restored=self._evaluate,
            slot=heartbeat,
        )
        # The planner's contactor and power commands for the gun's slot (nothing until the first).
        self.gcmc = GcmcCommander(gun.plc_id, send, retry_s=timing.ack_timeout_s)
        self._timer = PeriodicTimer(loop, timing.relay_period_s, self._tick)
        debounced = [
            Debounced(loop, timing.safety_assert_s, timing.safety_release_s, self._changed) for _ in range(4)
        ]
        self._estop, self._earth, self._safety_open, self._isolation = debounced
        # A safety input as the latest frames show it, before the debounce: while it is asserted an
        # open contactor is its doing, not a contactor fault (see `_contactor_faults`).
        self._safety_raw = False
        # Set when the reader thread tripped the relay (see `_evaluate`); cleared by a frame that
        # shows every safety input clear.
        self._safety_hold = False
        self.state = GunStateMachine()
        self.faults: dict[FaultKind, str] = {}
        self.identity = IdentityAssembler()
        self.session: Session | None = None
        self.crc_failures = 0
        self._crc_times: deque[float] = deque()
        self._bus_down = False
        self._authorized: str | None = None
        self._session_ended = False
        self._unavailable = False
        self._plugged = False
        self._stopped = False
        self._started_at = 0.0
        self._evaluated_at = 0.0
        self._silence_grace_until = 0.0
        self._last_rx = 0.0
        self.frames_received = 0  # any frame of this PLC, since start: 0 means never heard from
        self._instant_at: float | None = None
        self._totals_at: float | None = None
        # The contactor is judged against the relay command once the PLC acknowledged it: from
        # then on its feedback has contactor_settle_s to follow. None while the ack is pending.
        self._relay_closed_cmd = False
        self._contactor_since: float | None = None
        self.relay_status: RelayStatus | None = None
        self._safety: SafetySwitchStatus | None = None
        self.charge: ChargeInfo | None = None
        self.targets: EvdcTargets | None = None
        self._gcmc: GcmcStatus | None = None
        self._gun_temp: GunTemperature | None = None
        self._modules: ModuleStatus | None = None
        self.instant: MeterInstant | None = None
        self.instant_received_at: float | None = None  # loop time of `instant`, stale or not
        self.energy_wh = 0
        self.config_acks: deque[ConfigAck] = deque(maxlen=16)
        self._config_waiters: list[tuple[Callable[[ConfigAck], bool], asyncio.Future[ConfigAck]]] = []

    @property
    def connector_id(self) -> int:
        return self.gun.connector_id

    @property
    def status(self) -> ConnectorStatus:
        return self.state.status

    @property
    def authorized(self) -> str | None:
        """The id tag authorised for the next session, until it starts or is withdrawn."""
        return self._authorized

    @property
    def plugged(self) -> bool:
        return self._plugged

    @property
    def session_ended(self) -> bool:
        """A session ended and its EV is still plugged."""
        return self._session_ended

    @property
    def available(self) -> bool:
        return not self._unavailable

    @property
    def gcmc_status(self) -> GcmcStatus | None:
        return self._gcmc

    @property
    def module_status(self) -> ModuleStatus | None:
        return self._modules

    @property
    def gun_temperature(self) -> GunTemperature | None:
        return self._gun_temp

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, phase: float = 0.0) -> None:
        now = self._loop.time()
        self._started_at = self._last_rx = self._evaluated_at = now
        self.relay.update(enable=not self._unavailable)
        self._timer.start(phase)

    def stop(self) -> None:
        """Opens the gun (and its slot, when the planner drove it) with a last frame and stops
        every timer."""
        self._stopped = True
        self._timer.stop()
        self.relay.update(urgent=True, close=False, force_off=True)
        self.gcmc.force_off(self._loop.time())
        self.relay.close()
        for debounced in (self._estop, self._earth, self._safety_open, self._isolation):
            debounced.close()
        for _, future in self._config_waiters:
            future.cancel()

    # -- the planner's and the domain's commands --------------------------------------------------

    def command_gcmc(self, command: SlotCommand) -> None:
        """The planner's command for the gun's slot: contactors and the gun's power budget
        (GCMC_Command, sent on change and every second). RelayControl is untouched: the gun's
        relay stays the driver's, and its faults open the gun whatever the planner says."""
        if not self._stopped:
            self.gcmc.update(command, self._loop.time())

    def authorize(self, id_tag: str) -> None:
        """Authorise the next session (local id tag, RemoteStart, or AutoCharge's EVMAC)."""
        self._authorized = id_tag
        self._evaluate()

    def remote_stop(self, reason: StopReason = StopReason.REMOTE) -> bool:
        """Stop the running session; False when there is none."""
        if self.session is None:
            self._authorized = None
            return False
        self._stop_session(reason, self._loop.time())
        self._evaluate()
        return True

    def set_available(self, available: bool) -> None:
        self._unavailable = not available
        self.relay.update(enable=available)
        self._evaluate()

    async def configure(self, param: ConfigParam, op: ConfigOp = ConfigOp.GET, value: int = 0) -> int:
        """A ConfigCmd/ConfigAck round trip; the parameter's value as the PLC acknowledges it.

        Raises `CanCommTimeoutError` without an ack within `config_timeout_s`, and
        `CanConfigRejectedError` when the PLC refuses.
        """
        future: asyncio.Future[ConfigAck] = self._loop.create_future()
        entry = (lambda ack: ack.cfg_param_id == param and ack.cfg_op == op, future)
        self._config_waiters.append(entry)
        self._send(ConfigCmd(self.gun.plc_id, cfg_param_id=param, cfg_op=op, cfg_value=value))
        timeout = self._timing.config_timeout_s
        try:
            ack = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise CanCommTimeoutError(
                f"PLC {self.gun.plc_id}: no ConfigAck for {param.name} {op.name} within {timeout} s"
            ) from None
        finally:
            if entry in self._config_waiters:
                self._config_waiters.remove(entry)
        if ack.cfg_status != ConfigStatus.OK:
            status = (
                ConfigStatus(ack.cfg_status).name
                if ack.cfg_status in ConfigStatus._value2member_map_
                else str(ack.cfg_status)
            )
            raise CanConfigRejectedError(
                f"PLC {self.gun.plc_id}: {param.name} {op.name} refused: {status}", status
            )
        return ack.cfg_value

    # -- what the link reports -------------------------------------------------------------------

    def on_frame(self, frame: PlcFrame, now: float) -> None:  # noqa: PLR0912 (one case per message)
        self._last_rx = now
        self.frames_received += 1
        match frame:
            case RelayStatus():
                self.relay_status = frame
                self.relay.on_status(frame.last_cmd_seq_applied)
                self._feed_safety()
            case SafetySwitchStatus():
                self._safety = frame
                self._feed_safety()
            case MeterInstant():
                self._instant_at = None if frame.data_stale else now
                self.instant = frame
                self.instant_received_at = now
                self._listener.meter_sample(
                    MeterSample(
                        self.connector_id,
                        frame.voltage_0p1v / 10,
                        frame.current_0p01a / 100,
                        frame.active_power_0p01kw / 100,
                        self.energy_wh,
                        now,
                    )
                )
            case MeterTotals():
                self._totals_at = None if frame.data_stale else now
                self.energy_wh = frame.import_energy_0p1kwh * 100
            case ChargeInfo():
                self.charge = frame
            case EvdcTargets():
                self.targets = frame
            case GcmcStatus():
                self._gcmc = frame
                self.gcmc.on_status(frame.last_gcmc_seq_applied)
            case GunTemperature():
                self._gun_temp = frame
            case ModuleStatus():
                self._modules = frame
            case EvIdentity():
                done = self.identity.feed(frame)
                if done is not None:
                    self._listener.identity_received(
                        IdentityReceived(self.connector_id, done[0], done[1], now)
                    )
            case ConfigAck():
                self.config_acks.append(frame)
                self._resolve_config(frame)
            case _:
                return  # host->PLC frames (another host on the bus) say nothing about the gun
        self._evaluate()

    def on_crc_failure(self, now: float) -> None:
        self.crc_failures += 1
        self._crc_times.append(now)
        self._evaluate()

    def on_bus_state(self, down: bool) -> None:
        self._bus_down = down
        if not down:
            self._last_rx = self._loop.time()  # the comm-loss clock restarts with the bus
        self._evaluate()

    # -- decisions -------------------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        self.relay.periodic()
        self.gcmc.periodic(now)
        # Judged after the frames already waiting in the loop: after a stall of the loop they are
        # there, and judging before them would take the loop's silence for the PLC's (comm_loss).
        self._loop.call_soon(self._evaluate)

    def _heartbeat_lapsed(self, now: float) -> None:
        # The heartbeat opened the relay (FORCE_ALL_OFF) because this loop stopped feeding it: the
        # command is now that relay-off, and a session the controller abandoned does not resume.
        self._relay_moved(close=False)
        log.error(
            "gun %s: the event loop stopped feeding the relay heartbeat for over %s s; the relay was "
            "commanded off",
            self.connector_id,
            self._timing.feed_timeout_s,
        )
        self._stop_session(StopReason.OTHER, now)

    def _changed(self, _value: bool) -> None:
        self._evaluate()

    def _feed_safety(self) -> None:
        rs, ss = self.relay_status, self._safety
        estop = (rs is not None and rs.estop_input) or (ss is not None and ss.estop)
        earth = (rs is not None and rs.earth_fault) or (ss is not None and ss.earth_fault)
        safety_ok = (rs is None or rs.safety_ok) and (ss is None or ss.safety_ok)
        # The insulation monitor speaks through FAULT_REASON (configs/plc.dbc), latched by the PLC.
        isolation = rs is not None and rs.fault_reason == FaultReason.ISOLATION_FAULT
        self._isolation.feed(isolation)
        self._safety_raw = estop or earth or isolation or not safety_ok
        if not self._safety_raw:
            self._safety_hold = False
        self._estop.feed(estop)
        self._earth.feed(earth)
        # An estop or earth fault opens the safety chain too; it is reported as itself.
        self._safety_open.feed(not safety_ok and not estop and not earth)

    def _active_faults(self, now: float) -> dict[FaultKind, str]:
        t = self._timing
        active: dict[FaultKind, str] = {}
        if self._estop.stable:
            active[FaultKind.ESTOP] = "emergency stop input"
        if self._earth.stable:
            active[FaultKind.EARTH_FAULT] = "earth fault"
        if self._safety_open.stable:
            active[FaultKind.SAFETY_NOT_OK] = "safety chain open"
        if self._isolation.stable:
            active[FaultKind.ISOLATION_FAULT] = "insulation monitor (IMD) tripped"
        if self._bus_down:
            active[FaultKind.BUS_OFF] = "CAN bus off or failed"
        # See STALL_GRACE_S: right after a stall of the loop, silence raises nothing new.
        judge_silence = now >= self._silence_grace_until
        silent = now - self._last_rx
        stale = judge_silence or FaultKind.COMM_LOSS in self.faults
        if silent > t.comm_timeout_s and not self._bus_down and stale:
            active[FaultKind.COMM_LOSS] = f"no frame from PLC {self.gun.plc_id} for {silent:.1f} s"
        while self._crc_times and now - self._crc_times[0] > t.crc_window_s:
            self._crc_times.popleft()
        if len(self._crc_times) >= t.crc_burst:
            active[FaultKind.CRC_BURST] = f"{len(self._crc_times)} CRC failures within {t.crc_window_s} s"
        comm_ok = not active.keys() & {FaultKind.BUS_OFF, FaultKind.COMM_LOSS}
        meter_at = min(self._instant_at or 0.0, self._totals_at or 0.0)
        stale = judge_silence or FaultKind.METER_STALE in self.faults
        # A PLC the host cannot hear sends no meter data either: the fault is the lost link (named
        # first, InternalError), not a meter failure it causes.
        if now - max(meter_at, self._started_at) > t.meter_stale_s and stale and comm_ok:
            active[FaultKind.METER_STALE] = f"no fresh meter data for {t.meter_stale_s} s"
        if self.relay.ack_missing:
            active[FaultKind.ACK_MISSING] = (
                f"CMD_SEQ {self.relay.seq} not applied after {t.ack_attempts} attempts"
            )
        if comm_ok:
            self._contactor_faults(now, active)
            self._temperature_faults(active)
        if self.relay_status is not None and self.relay_status.fault_reason == FaultReason.INTERNAL:
            active[FaultKind.PLC_INTERNAL] = "PLC reports an internal fault"
        return active

    def _contactor_faults(self, now: float, active: dict[FaultKind, str]) -> None:
        settle = self._timing.contactor_settle_s
        gcmc, rs = self._gcmc, self.relay_status
        if gcmc is not None and (gcmc.gc_weld or gcmc.mc_weld):
            active[FaultKind.CONTACTOR_WELD] = (
                "PLC detects a welded " + ("gun" if gcmc.gc_weld else "slot") + " contactor"
            )
        if rs is None:
            return
        if self._contactor_since is None:
            if not self.relay.acked:
                return  # a command the PLC has not applied says nothing of the contactor
            self._contactor_since = self.relay.acked_at
        if now - self._contactor_since <= settle or rs.rly1_fb == self._relay_closed_cmd:
            return
        if not rs.rly1_fb and (self._safety_raw or rs.fault_reason in _SAFETY_REASONS):
            # The PLC opened the relay for a safety cause (its hardware chain does so at once): the
            # fault is that cause, raised by its debounce within safety_assert_s, and the operator
            # must see it, not the contactor mismatch it causes (issue 19).
            return
        if rs.rly1_fb:
            active[FaultKind.CONTACTOR_WELD] = f"relay feedback closed {settle} s after opening"
        else:
            active[FaultKind.CONTACTOR_MISMATCH] = f"relay feedback open {settle} s after closing"

    def _temperature_faults(self, active: dict[FaultKind, str]) -> None:
        t = self._timing
        threshold = t.over_temperature_c
        if FaultKind.OVER_TEMPERATURE in self.faults:
            threshold -= t.temperature_hysteresis_c
        hot: list[str] = []
        if (g := self._gun_temp) is not None:
            if g.gun_otp:
                hot.append("gun over-temperature trip")
            if max(g.gun_temp_dcp_c, g.gun_temp_dcn_c) >= threshold:
                hot.append(f"gun pins at {max(g.gun_temp_dcp_c, g.gun_temp_dcn_c)} degC")
        if (m := self._modules) is not None and (m.mod1_otp or m.mod2_otp):
            hot.append("power module over-temperature trip")
        if hot:
            active[FaultKind.OVER_TEMPERATURE] = ", ".join(hot)

    def _evaluate(self) -> None:
        if self._stopped:
            return
        now = self._loop.time()
        if now - self._evaluated_at > STALL_PERIODS * self._timing.relay_period_s:
            self._silence_grace_until = now + STALL_GRACE_S
        self._evaluated_at = now
        lapse = self.relay.take_lapsed()
        if lapse is Lapse.FEED_TIMEOUT:
            # Before anything else: the PLC's frames show the relay that the heartbeat opened.
            self._heartbeat_lapsed(now)
        elif lapse is Lapse.SAFETY_TRIP:
            # The reader thread opened the relay on a safety fault the PLC reported: it stays open
            # until a frame shows the safety inputs clear; the debounce names the fault meanwhile.
            self._relay_moved(close=False)
            self._safety_hold = True
        active = self._active_faults(now)
        for kind, detail in active.items():
            if kind not in self.faults:
                self._raise(kind, detail, now)
        for kind in [k for k in self.faults if k not in active]:
            del self.faults[kind]
            log.info("gun %s: %s cleared", self.connector_id, kind)
            self._listener.fault_cleared(FaultCleared(self.connector_id, kind, now))
        self._control(now)
        self._report_status(now)

    def _raise(self, kind: FaultKind, detail: str, now: float) -> None:
        # Safe state first: the relay-off command leaves before anyone is told.
        self.faults[kind] = detail
        self.relay.update(urgent=True, close=False, force_off=True, auth_grant=False, clear_faults=False)
        self._relay_moved(close=False)
        log.warning("gun %s: %s: %s", self.connector_id, kind, detail)
        self._listener.fault_raised(FaultRaised(self.connector_id, kind, detail, now))
        if self.session is not None:
            self._stop_session(kind.stop_reason, now)
        self._authorized = None

    def _control(self, now: float) -> None:
        charge, rs = self.charge, self.relay_status
        plugged = charge is not None and charge.cp_state in PLUGGED
        if not plugged and self._plugged:
            # Unplugged: the session ends, and what was known of that EV is forgotten.
            if self.session is not None:
                self._stop_session(StopReason.EV_DISCONNECTED, now)
            self._session_ended = False
            self._authorized = None
            self.identity.reset()
        self._plugged = plugged
        if self.session is not None and charge is not None and charge.hlc_session_stop:
            self._stop_session(StopReason.LOCAL, now)
        if self.faults:
            if FaultKind.ISOLATION_FAULT in self.faults:
                # The PLC keeps its IMD trip latched until CLEAR_FAULTS and clears it only once the
                # IMD is content again: ask for it while the fault stands (the relay stays forced off).
                self.relay.update(clear_faults=True)
            return
        # No fault: let the PLC clear what it latched (it keeps a cause that is still there).
        latched = rs is not None and rs.fault_reason != FaultReason.NONE
        self.relay.update(force_off=False, clear_faults=latched)
        # Never closed while a safety input is asserted, debounced or not (opening is always safe).
        close = (self.session is not None or self._may_start(charge)) and not (
            self._safety_raw or self._safety_hold
        )
        self.relay.update(close=close, auth_grant=self._authorized is not None or self.session is not None)
        self._relay_moved(close)
        if close and self.session is None and rs is not None and rs.rly1_fb and self._authorized is not None:
            self.session = Session(self._authorized, self.energy_wh, now)
            log.info("gun %s: session started for %s", self.connector_id, self._authorized)
            self._listener.session_started(
                SessionStarted(self.connector_id, self._authorized, self.energy_wh, now)
            )

    def _relay_moved(self, close: bool) -> None:
        if close != self._relay_closed_cmd:
            self._relay_closed_cmd = close
            self._contactor_since = None

    def _may_start(self, charge: ChargeInfo | None) -> bool:
        if charge is None or self._authorized is None or self._unavailable or self._session_ended:
            return False
        if charge.cp_state not in EV_READY or (self.gun.require_lock and not charge.lock_engaged):
            return False
        # ISO 15118: no energy before PowerDelivery; basic charging: CP state C/D is the request.
        return charge.hlc_power_delivery if charge.hlc_active else True

    def _stop_session(self, reason: StopReason, now: float) -> None:
        session = self.session
        if session is None:
            return
        self.session = None
        self._session_ended = True
        self._authorized = None
        self.relay.update(close=False, auth_grant=False)
        self._relay_moved(close=False)
        log.info("gun %s: session stopped (%s)", self.connector_id, reason)
        self._listener.session_stopped(
            SessionStopped(self.connector_id, session.id_tag, self.energy_wh, reason, now)
        )

    def _report_status(self, now: float) -> None:
        charge, targets, rs = self.charge, self.targets, self.relay_status
        ev_ready = charge is not None and charge.cp_state in EV_READY
        inputs = GunInputs(
            plugged=charge is not None and charge.cp_state in PLUGGED,
            session_active=self.session is not None,
            session_ended=self._session_ended,
            relay_closed=rs is not None and rs.rly1_fb,
            ev_ready=ev_ready,
            # Suspended by the EV: not ready (CP B), or asking for 0 A in current demand.
            ev_demanding=ev_ready
            and not (
                charge is not None
                and charge.hlc_current_demand
                and targets is not None
                and targets.ev_target_current_0p1a == 0
            ),
            faulted=bool(self.faults),
            unavailable=self._unavailable,
        )
        status = self.state.update(inputs)
        if status is None:
            return
        if self.faults:
            kind, detail = next(iter(self.faults.items()))
            error, info = kind.error_code, f"{kind}: {detail}"
        else:
            error, info = ErrorCode.NO_ERROR, ""
        self._listener.status_changed(StatusChanged(self.connector_id, status, error, info, now))

    def _resolve_config(self, ack: ConfigAck) -> None:
        keep = []
        for match, future in self._config_waiters:
            if not future.done() and match(ack):
                future.set_result(ack)
            elif not future.done():
                keep.append((match, future))
        self._config_waiters = keep
