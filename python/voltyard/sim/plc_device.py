"""One simulated PLC and its EV: what it does with the host's frames and what it sends, as seed 003 and
configs/plc.dbc say (`voltyard.sim.plc` puts these PLCs on a bus).

Each PLC opens its relay and latches RELAY_CMD_TIMEOUT after ~300 ms without RelayControl, applies each
CMD_SEQ and acknowledges it in LAST_CMD_SEQ_APPLIED, latches safety faults until CLEAR_FAULTS, and
publishes its status, meter, EV and thermal frames at the DBC's cycle times (status frames also on
change). `Injection` turns on every fault the host must handle: estop, earth fault, an isolation
fault (the IMD's trip, reported as FAULT_REASON ISOLATION_FAULT), safety chain,
over-temperature, a welded or stuck-open contactor, a silent meter, total silence, corrupted CRCs, frame
loss, and CMD_SEQs never applied. The received RelayControl period is recorded (from the frames' bus
timestamps) for the 100 ms +-20 ms check.

A PLC follows GCMC_Command once the host drives its slot with one (a non-zero GCMC_MASK): its
contactors take the commanded states (feedback at once, in GCMC_Status sent on change), the gun's
power path then needs GC as well as the relay, and the EV's current is capped at the gun's power
budget (I <= PWR_LIMIT / V) and current limit, so the meters show the planner's budgets. Without
it the gun is the single relay of RelayControl, as on hardware without a ring. The simulator does
not model the ring's electrics: which modules feed a gun is the planner's business, and each PLC
only knows its own slot.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voltyard.can.bus import CanPort
from voltyard.can.frames import (
    ChargeInfo,
    ConfigAck,
    ConfigCmd,
    ConfigOp,
    ConfigParam,
    ConfigStatus,
    EvdcLimits,
    EvdcTargets,
    EvIdentity,
    FaultReason,
    GcmcCommand,
    GcmcStatus,
    GunTemperature,
    IdKind,
    MeterInstant,
    MeterTotals,
    ModuleStatus,
    PlcFrame,
    RelayControl,
    RelayStatus,
    SafetySwitchStatus,
)
from voltyard.can.params import BY_PARAM
from voltyard.sim.ev import EvProfile, SimulatedEv, Stage

log = logging.getLogger(__name__)

TICK_S = 0.05
READ_ONLY = frozenset({ConfigParam.FW_VERSION})


@dataclass(slots=True)
class Injection:
    """Faults to inject in one PLC; set the fields, the PLC acts on its next tick or frame."""

    estop: bool = False
    earth_fault: bool = False
    isolation_fault: bool = False  # the insulation monitor (IMD) trips: FAULT_REASON ISOLATION_FAULT
    safety_open: bool = False
    over_temperature: bool = False
    weld: bool = False  # relay feedback stuck closed, GC_WELD set
    stuck_open: bool = False  # relay feedback stuck open
    meter_silent: bool = False  # no EnergyMeterData
    silent: bool = False  # no frame at all
    corrupt_crc: bool = False  # every frame sent with a wrong CRC
    loss_ratio: float = 0.0  # share of frames dropped
    ignore_commands: bool = False  # CMD_SEQs received but never applied nor acknowledged
    mute_config: bool = False  # ConfigCmd never answered


@dataclass(frozen=True, slots=True)
class PeriodStats:
    count: int
    p1_ms: float
    p50_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    # Both tails matter to a PLC: a late frame nears its watchdog, an early one is a catch-up burst.
    share_within_20_ms: float

    @classmethod
    def of(cls, periods: list[float]) -> PeriodStats:
        if len(periods) < 2:
            return cls(len(periods), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        ms = sorted(p * 1000 for p in periods)
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        within = sum(1 for p in ms if 80.0 <= p <= 120.0) / len(ms)
        return cls(len(ms), cuts[0], cuts[49], cuts[98], ms[0], ms[-1], within)

    def __str__(self) -> str:
        return (
            f"{self.count} periods: p1 {self.p1_ms:.1f} ms, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, min {self.min_ms:.1f} ms, max {self.max_ms:.1f} ms, "
            f"{self.share_within_20_ms * 100:.2f} % within 100 ± 20 ms"
        )


@dataclass(slots=True)
class _Cadence:
    """When each periodic frame is next due (loop time)."""

    due: dict[str, float] = field(default_factory=dict)

    def take(self, name: str, now: float, period: float) -> bool:
        if now < self.due.get(name, 0.0):
            return False
        self.due[name] = now + period
        return True


class SimulatedPlc:
    def __init__(self, plc_id: int, emit: FrameEmitter, ev: EvProfile, rng: random.Random) -> None:
        self.plc_id = plc_id
        self.inject = Injection()
        self.ev = SimulatedEv(ev)
        self._emit = emit
        self._rng = rng
        self._cadence = _Cadence()
        self.params = {
            ConfigParam.RELAY_TIMEOUT_MS: 300,
            ConfigParam.DEBOUNCE_MS: 20,
            ConfigParam.STATUS_PERIOD_MS: 200,
            ConfigParam.METER_PERIOD_MS: 250,
            ConfigParam.MAX_CURRENT_0p1A: 5000,
            ConfigParam.MAX_VOLTAGE_0p1V: 10000,
            ConfigParam.LOCK_REQUIRED: 1,
            ConfigParam.FW_VERSION: 0x010000,
        }
        self.command: RelayControl | None = None
        self.config_cmds: list[ConfigCmd] = []  # every ConfigCmd received (an operator's, so few)
        self.last_seq_applied = 0
        self.relay_on = False
        self.fault_reason = FaultReason.NONE
        self.relay_timeout = False
        self.watchdog_trips = 0
        self.rx_crc_failures = 0
        self.relay_frames: list[tuple[float, RelayControl]] = []  # (loop time, frame)
        self.relay_periods: list[float] = []
        self._last_relay_stamp: float | None = None
        self._last_relay_at: float | None = None
        self._relay_waiters: list[
            tuple[Callable[[RelayControl], bool], asyncio.Future[tuple[float, RelayControl]]]
        ] = []
        self.gcmc = GcmcCommand(plc_id)  # mask 0: no planner drives the slot
        self._gcmc_rx = 0
        self._sent_gcmc: tuple[bool, ...] = ()
        self.energy_wh = 0.0
        self._meter_mux = 0
        self._identity_sent = False
        self._sent_status: tuple[object, ...] = ()

    # -- host frames -----------------------------------------------------------------------------

    def on_frame(self, frame: PlcFrame, stamp: float, now: float) -> None:
        match frame:
            case RelayControl():
                self._on_relay_control(frame, stamp, now)
            case ConfigCmd():
                self._on_config(frame)
            case GcmcCommand():
                self._gcmc_rx = frame.gcmc_seq
                if self.inject.ignore_commands and frame.gcmc_seq != self.gcmc.gcmc_seq:
                    return
                self.gcmc = frame
                self._send_gcmc()  # applied at once; the status is the ack
            case _:
                pass

    def _on_relay_control(self, frame: RelayControl, stamp: float, now: float) -> None:
        if self._last_relay_stamp is not None:
            self.relay_periods.append(stamp - self._last_relay_stamp)
        self._last_relay_stamp = stamp
        self._last_relay_at = now
        self.relay_frames.append((now, frame))
        for waiter in [w for w in self._relay_waiters if w[0](frame)]:
            self._relay_waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result((now, frame))
        if self.inject.ignore_commands and frame.cmd_seq != self.last_seq_applied:
            return
        self.command = frame
        new_seq = frame.cmd_seq != self.last_seq_applied
        self.last_seq_applied = frame.cmd_seq
        if frame.clear_faults and not self._fault_cause():
            self.fault_reason = FaultReason.NONE
            self.relay_timeout = False
        self._apply_relay()
        if new_seq:
            self._send_relay_status()  # the ack goes out at once

    async def relay_control(
        self, match: Callable[[RelayControl], bool], since: float, timeout: float = 5.0
    ) -> tuple[float, RelayControl]:
        """The first RelayControl received at or after loop time `since` that `match`es, and when."""
        for at, frame in self.relay_frames:
            if at >= since and match(frame):
                return at, frame
        future: asyncio.Future[tuple[float, RelayControl]] = asyncio.get_running_loop().create_future()
        self._relay_waiters.append((match, future))
        return await asyncio.wait_for(future, timeout)

    def _on_config(self, frame: ConfigCmd) -> None:
        self.config_cmds.append(frame)
        if self.inject.mute_config:
            return
        status, value = ConfigStatus.OK, frame.cfg_value
        try:
            param = ConfigParam(frame.cfg_param_id)
        except ValueError:
            param = None
        if param is None or param not in self.params:
            status = ConfigStatus.UNKNOWN_PARAM
        elif frame.cfg_op == ConfigOp.GET:
            value = self.params[param]
        elif frame.cfg_op != ConfigOp.SET:
            status = ConfigStatus.BAD_OP
        elif param in READ_ONLY:
            status, value = ConfigStatus.READ_ONLY, self.params[param]
        elif param in BY_PARAM and not BY_PARAM[param].in_range(value):
            # The contract's ranges (voltyard.can.params): a PLC refuses what its host must not send.
            status, value = ConfigStatus.BAD_VALUE, self.params[param]
        else:
            self.params[param] = value
        self._emit.send(
            self,
            ConfigAck(
                self.plc_id,
                cfg_param_id=frame.cfg_param_id,
                cfg_status=status,
                cfg_op=frame.cfg_op,
                cfg_value=value,
                ack_plc_id=self.plc_id,
            ),
        )

    def on_bad_crc(self) -> None:
        self.rx_crc_failures += 1

    # -- the PLC's own logic ---------------------------------------------------------------------

    def _safety_ok(self) -> bool:
        i = self.inject
        return not (i.estop or i.earth_fault or i.safety_open)

    def _fault_cause(self) -> FaultReason:
        i = self.inject
        for on, reason in (
            (i.estop, FaultReason.ESTOP),
            (i.earth_fault, FaultReason.EARTH_FAULT),
            (i.isolation_fault, FaultReason.ISOLATION_FAULT),
            (i.safety_open, FaultReason.SAFETY_CHAIN),
            (i.over_temperature, FaultReason.OVER_TEMPERATURE),
        ):
            if on:
                return reason
        return FaultReason.NONE

    def _apply_relay(self) -> None:
        cause = self._fault_cause()
        if cause != FaultReason.NONE:
            self.fault_reason = cause
        c = self.command
        self.relay_on = (
            c is not None
            and c.rly1_cmd
            and c.sys_enable
            and not c.force_all_off
            and self.fault_reason == FaultReason.NONE
        )

    @property
    def relay_fb(self) -> bool:
        if self.inject.weld:
            return True
        return False if self.inject.stuck_open else self.relay_on

    @property
    def planned(self) -> bool:
        """Whether the host drives the slot through GCMC_Command (see the module docstring)."""
        return self.gcmc.gcmc_mask != 0

    @property
    def limit_a(self) -> float:
        """What the EVSE offers the EV: the gun's budget as a current at the battery's voltage."""
        g = self.gcmc
        if not self.planned:
            return g.cur_limit_0p1a / 10 if g.cur_limit_0p1a else 5000.0
        # PWR_LIMIT in 0.1 kW: I = P / V = pwr * 100 W / V.
        return min(g.cur_limit_0p1a / 10, g.pwr_limit_0p1kw * 100 / self.ev.profile.battery_v)

    def contactors(self) -> tuple[bool, bool, bool, bool, bool, bool]:
        """The slot's contactor feedback: GC, MC, MN1, MN2, CW, CCW (closed = True)."""
        g = self.gcmc
        # A forced-off slot and a fired watchdog open everything; a gun fault opens its own GC.
        slot_on = not g.gcmc_force_off and not self.relay_timeout

        def driven(bit: int, cmd: bool) -> bool:
            return slot_on and bool(g.gcmc_mask >> bit & 1) and cmd

        if self.planned:
            gc = driven(0, g.gc_cmd) and self.fault_reason == FaultReason.NONE
            gc = True if self.inject.weld else (False if self.inject.stuck_open else gc)
        else:
            gc = self.relay_fb  # no planner: the gun relay is the gun contactor
        return (
            gc,
            driven(1, g.mc_cmd),
            driven(2, g.mn1_cmd),
            driven(3, g.mn2_cmd),
            driven(4, g.cw_cmd),
            driven(5, g.ccw_cmd),
        )

    @property
    def power_path(self) -> bool:
        """Whether energy can flow to the EV: the relay, and GC when a planner drives it."""
        return self.relay_fb and (not self.planned or self.contactors()[0])

    def tick(self, now: float, dt: float) -> None:
        if (
            self._last_relay_at is not None
            and now - self._last_relay_at > self.params[ConfigParam.RELAY_TIMEOUT_MS] / 1000
            and not self.relay_timeout
        ):
            self.relay_timeout = True
            self.watchdog_trips += 1
            self.fault_reason = FaultReason.RELAY_CMD_TIMEOUT
            # When the last frame was sent (its bus timestamp, wall clock) tells a host that stopped
            # sending from a simulator that was too slow to read what it sent.
            sent_ago = time.time() - self._last_relay_stamp if self._last_relay_stamp else 0.0
            log.warning(
                "PLC %s: RelayControl watchdog fired (last one read %.0f ms ago, sent %.0f ms ago)",
                self.plc_id,
                (now - self._last_relay_at) * 1000,
                sent_ago * 1000,
            )
        self._apply_relay()
        ev = self.ev
        auth = self.command is not None and self.command.auth_grant
        path = self.power_path
        ev.step(dt, auth, path, self.limit_a)
        if path:
            self.energy_wh += ev.profile.battery_v * ev.current_a * dt / 3600
        self._publish(now)
        # After the status frames, so that the host knows the EV is plugged when its identity comes.
        if ev.plugged and not self._identity_sent and ev.stage >= Stage.SESSION_SETUP:
            self._send_identity()
        if not ev.plugged:
            self._identity_sent = False

    def _publish(self, now: float) -> None:
        take = self._cadence.take
        status = self._status_signature()
        if status != self._sent_status:
            self._send_thermal()  # an over-temperature trip is reported at once too
            if self._in_session():
                self._send_targets()  # the EV's new demand before the stage that asks for it
        status_period = self.params[ConfigParam.STATUS_PERIOD_MS] / 1000
        if status != self._sent_status or take("relay", now, status_period):
            self._send_relay_status()
            self._send_safety()
            self._send_charge_info()
        if take("safety", now, 0.5):
            self._send_safety()
        if take("charge", now, 0.5):
            self._send_charge_info()
        if take("meter", now, self.params[ConfigParam.METER_PERIOD_MS] / 1000):
            self._send_meter()
        if self.contactors() != self._sent_gcmc or take("gcmc", now, 0.5):
            self._send_gcmc()
        if self._in_session() and take("targets", now, 0.25):
            self._send_targets()
        if self.ev.plugged and take("limits", now, 1.0):
            self._emit.send(
                self,
                EvdcLimits(
                    self.plc_id,
                    ev_max_voltage_0p1v=round(self.ev.profile.max_voltage_v * 10),
                    ev_max_current_0p1a=round(self.ev.profile.max_current_a * 10),
                    ev_max_power_0p1kw=round(self.ev.profile.max_power_kw * 10),
                ),
            )
        if take("thermal", now, 1.0):
            self._send_thermal()

    def _in_session(self) -> bool:
        """Whether the EV sends targets (CurrentDemandReq and the stages before it)."""
        return self.ev.plugged and self.ev.stage < Stage.SESSION_STOP

    def _status_signature(self) -> tuple[object, ...]:
        i, ev = self.inject, self.ev
        return (
            self.relay_on,
            self.relay_fb,
            self.fault_reason,
            i.estop,
            i.earth_fault,
            i.isolation_fault,
            i.safety_open,
            i.over_temperature,
            ev.stage,
            ev.cp_state,
            self.command is not None and self.command.auth_grant,
        )

    def _send_relay_status(self) -> None:
        self._sent_status = self._status_signature()
        i, c = self.inject, self.command
        self._emit.send(
            self,
            RelayStatus(
                self.plc_id,
                rly1_state=self.relay_on,
                rly1_fb=self.relay_fb,
                safety_ok=self._safety_ok(),
                earth_fault=i.earth_fault,
                estop_input=i.estop,
                comm_fault=self.relay_timeout,
                sys_enabled=c is not None and c.sys_enable,
                relay_timeout=self.relay_timeout,
                remote_force_off=c is not None and c.force_all_off,
                fault_reason=self.fault_reason,
                last_cmd_seq_applied=self.last_seq_applied,
                rx_crc_fail_count=self.rx_crc_failures % 256,
            ),
        )

    def _send_safety(self) -> None:
        i = self.inject
        self._emit.send(
            self,
            SafetySwitchStatus(
                self.plc_id,
                sw1_deb=self.ev.plugged,
                estop=i.estop,
                safety_ok=self._safety_ok(),
                earth_fault=i.earth_fault,
                sw_mask=0b0001,
            ),
        )

    def _send_charge_info(self) -> None:
        ev, stage = self.ev, self.ev.stage
        flags = {
            "hlc_slac_matched": Stage.SLAC,
            "hlc_session_setup": Stage.SESSION_SETUP,
            "hlc_authorization": Stage.AUTHORIZATION,
            "hlc_param_discovery": Stage.PARAM_DISCOVERY,
            "hlc_cable_check": Stage.CABLE_CHECK,
            "hlc_precharge": Stage.PRECHARGE,
            "hlc_power_delivery": Stage.POWER_DELIVERY,
            "hlc_current_demand": Stage.CURRENT_DEMAND,
        }
        reached = {name: ev.plugged and at <= stage < Stage.SESSION_STOP for name, at in flags.items()}
        auth = self.command is not None and self.command.auth_grant
        self._emit.send(
            self,
            ChargeInfo(
                self.plc_id,
                cp_state=ev.cp_state,
                auth_granted=ev.plugged and auth,
                auth_pending=stage == Stage.AUTHORIZATION and not auth,
                lock_engaged=ev.plugged,
                hlc_active=ev.plugged and ev.profile.hlc,
                hlc_session_stop=stage == Stage.SESSION_STOP,
                cp_high_0p1v=60 if ev.cp_state == 2 else (90 if ev.plugged else 120),
                cp_low_0p1v=-120,
                cp_duty_pct=5 if ev.plugged else 100,
                **reached,
            ),
        )

    def _send_meter(self) -> None:
        if self.inject.meter_silent:
            return
        ev = self.ev
        path = self.power_path
        volts = ev.profile.battery_v if path else 0.0
        amps = ev.current_a if path else 0.0
        if self._meter_mux == 0:
            frame: PlcFrame = MeterInstant(
                self.plc_id,
                meter_ok=True,
                voltage_0p1v=round(volts * 10),
                current_0p01a=round(amps * 100),
                active_power_0p01kw=round(volts * amps / 10),
            )
        else:
            frame = MeterTotals(
                self.plc_id, meter_ok=True, import_energy_0p1kwh=int(self.energy_wh // 100), freq_0p01hz=0
            )
        self._meter_mux ^= 1
        self._emit.send(self, frame)

    def _send_gcmc(self) -> None:
        g = self.gcmc
        fb = self._sent_gcmc = self.contactors()
        self._emit.send(
            self,
            GcmcStatus(
                self.plc_id,
                gc_cmd=g.gc_cmd if self.planned else self.relay_on,
                mc_cmd=g.mc_cmd,
                mn1_cmd=g.mn1_cmd,
                mn2_cmd=g.mn2_cmd,
                cw_cmd=g.cw_cmd,
                ccw_cmd=g.ccw_cmd,
                gc_fb=fb[0],
                mc_fb=fb[1],
                mn1_fb=fb[2],
                mn2_fb=fb[3],
                cw_fb=fb[4],
                ccw_fb=fb[5],
                gc_weld=self.inject.weld,
                gcmc_fault_reason=self.fault_reason,
                gcmc_comm_ok=not self.relay_timeout,
                gcmc_safety_ok=self._safety_ok(),
                gcmc_forced_off=g.gcmc_force_off,
                last_gcmc_seq_applied=g.gcmc_seq,
                last_gcmc_seq_rx=self._gcmc_rx,
            ),
        )

    def _send_targets(self) -> None:
        ev = self.ev
        self._emit.send(
            self,
            EvdcTargets(
                self.plc_id,
                ev_target_voltage_0p1v=round(ev.profile.battery_v * 10),
                ev_target_current_0p1a=round(ev.target_current_a * 10)
                if ev.stage == Stage.CURRENT_DEMAND
                else (1 if ev.stage == Stage.POWER_DELIVERY else 0),
                ev_soc_pct=ev.soc_pct,
                ev_ready=ev.cp_state == 2,
                ev_charging_complete=ev.complete,
            ),
        )

    def _send_thermal(self) -> None:
        hot = self.inject.over_temperature
        self._emit.send(
            self,
            GunTemperature(
                self.plc_id, gun_temp_dcp_c=110 if hot else 35, gun_temp_dcn_c=108 if hot else 34, gun_otp=hot
            ),
        )
        self._emit.send(self, ModuleStatus(self.plc_id, mod1_temp_c=45, mod2_temp_c=46))

    def _send_identity(self) -> None:
        self._identity_sent = True
        p = self.ev.profile
        for kind, value in ((IdKind.EVCCID, p.evccid), (IdKind.EMAID0, p.emaid), (IdKind.EVMAC, p.mac)):
            segments = [value[i : i + 5] for i in range(0, len(value), 5)] or [b""]
            for index, chunk in enumerate(segments):
                padded = chunk.ljust(5, b"\0")
                self._emit.send(
                    self,
                    EvIdentity(
                        self.plc_id,
                        id_kind=kind,
                        id_seg_index=index,
                        id_seg_count=len(segments),
                        id_seg_len=len(chunk),
                        id_byte0=padded[0],
                        id_byte1=padded[1],
                        id_byte2=padded[2],
                        id_byte3=padded[3],
                        id_byte4=padded[4],
                    ),
                )


class FrameEmitter:
    """Puts a PLC's frames on the bus, through its injections (silence, loss, bad CRC)."""

    def __init__(self, rng: random.Random) -> None:
        self.port: CanPort | None = None
        self._rng = rng
        self.sent = 0

    def send(self, plc: SimulatedPlc, frame: PlcFrame) -> None:
        i = plc.inject
        if self.port is None or i.silent or (i.loss_ratio and self._rng.random() < i.loss_ratio):
            return
        arbitration_id, data = frame.encode()
        if i.corrupt_crc:
            data = data[:7] + bytes([data[7] ^ 0x5A])
        self.sent += 1
        self.port.send(arbitration_id, data)
