"""Talking to the chargers about limits: SetChargingProfile, the read-back, clearing, the rate unit.

Each command goes in the shapes of the charger's OCPP version (`profiles.shapes_for`, the version from the
`ChargerVersion` port): a 1.6 charger gets connector ids and GetConfiguration, a 2.0.1 or 2.1 one EVSE ids,
its own text transactionId and GetVariables.

Every outcome lands on the `Session`: a limit counts as in force only once the charger accepted it;
a refusal or an unreachable charger leaves the old one in force; a timeout leaves it unknown whether
the charger applied the new one, so the higher of the two is assumed until a later answer settles it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from voltyard.errors import CallErrorReceivedError, CommandError, CommandTimeoutError
from voltyard.power.config import PowerConfig
from voltyard.power.ports import ChargerVersion, Clock, CommandCall
from voltyard.power.profiles import ProfileShapes, RateUnit, shapes_for
from voltyard.power.session import Session

__all__ = ["ChargerControl"]

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 60.0
_READBACK_SLACK_KW = 0.1


class ChargerControl:
    """Sends the manager's commands; `is_current(session)` tells whether a session is still running."""

    def __init__(
        self,
        call: CommandCall,
        clock: Clock,
        config: PowerConfig,
        is_current: Callable[[Session], bool],
        version: ChargerVersion,
    ) -> None:
        self._call = call
        self._version = version
        self._clock = clock
        self._config = config
        self._is_current = is_current
        self._units: dict[str, RateUnit] = dict(config.rate_units)

    async def set_limit(self, s: Session, target_kw: float) -> bool:
        """Install a TxProfile of `target_kw` for the session; whether the charger accepted it."""
        config = self._config
        timeout = config.command_timeout_s
        try:
            shapes = self.shapes(s.charger_id)
            unit = await self.unit(s.charger_id)
            request, limit_kw = shapes.limit_request(
                s.connector_id, s.charger_transaction, target_kw, unit,
                profile_id=config.profile_id(s.connector_id), stack_level=config.stack_level,
                now_epoch_s=self._clock.time(), minutes=config.schedule_minutes,
            )  # fmt: skip
            answer = await self._call(s.charger_id, "SetChargingProfile", request, timeout=timeout)
        except CommandTimeoutError as exc:
            if s.confirmed_kw is not None:  # (None already assumes the connector's maximum)
                s.confirmed_kw, s.uncertain = max(s.confirmed_kw, target_kw), True
            self._failed(s, str(exc))
            return False
        # ValueError: no shapes for the charger's version, or a 2.x session without its charger's text id.
        except (CommandError, ValueError) as exc:
            self._failed(s, str(exc))
            return False
        if answer.get("status") != "Accepted":
            self._failed(s, f"SetChargingProfile {answer.get('status')}")
            return False
        if not self._is_current(s):
            return False  # ended meanwhile: its profile ended with it
        s.confirmed_kw, s.uncertain, s.error, s.failures, s.retry_at = limit_kw, False, None, 0, 0.0
        return True

    async def set_start_limit(self, charger_id: str, limit_kw: float) -> bool:
        """Install the charger's TxDefaultProfile (what new sessions start with); whether it was accepted."""
        config = self._config
        try:
            shapes = self.shapes(charger_id)
            unit = await self.unit(charger_id)
            request, _ = shapes.limit_request(
                0, None, limit_kw, unit, profile_id=config.profile_id(0), stack_level=config.stack_level,
                now_epoch_s=self._clock.time(), minutes=config.schedule_minutes,
            )  # fmt: skip
            answer = await self._call(
                charger_id, "SetChargingProfile", request, timeout=config.command_timeout_s
            )
        except (CommandError, ValueError) as exc:
            log.warning("%s: start limit not set (%s); will retry", charger_id, exc)
            return False
        if answer.get("status") != "Accepted":
            log.warning("%s: start limit not set (SetChargingProfile %s)", charger_id, answer.get("status"))
            return False
        return True

    def _failed(self, s: Session, error: str) -> None:
        s.error = error
        s.failures += 1
        # Retried at the next rebalance, then backing off, so that one charger that never answers does
        # not hold up every rebalance by the command timeout.
        if s.failures > 1:
            backoff = self._config.rebalance_period_s * 2 ** (s.failures - 2)
            s.retry_at = self._clock.monotonic() + min(_MAX_BACKOFF_S, backoff)
        log.warning("%s connector %d: limit not set (%s); will retry", s.charger_id, s.connector_id, error)

    def shapes(self, charger_id: str) -> ProfileShapes:
        """The payloads of the charger's OCPP version (asked each time: it may come back with another)."""
        return shapes_for(self._version(charger_id))

    async def unit(self, charger_id: str) -> RateUnit:
        """The charger's rate unit: configured, else asked once (watts preferred), else the default.

        1.6: GetConfiguration ChargingScheduleAllowedChargingRateUnit; 2.x: GetVariables
        SmartChargingCtrlr.RateUnit.
        """
        unit = self._units.get(charger_id)
        if unit is not None:
            return unit
        unit = self._config.rate_unit
        if self._config.discover_rate_unit:
            shapes = self.shapes(charger_id)
            action, request = shapes.unit_question()
            timeout = self._config.command_timeout_s
            try:
                answer = await self._call(charger_id, action, request, timeout=timeout)
                unit = shapes.unit_answer(answer, unit) or unit
            except CallErrorReceivedError as exc:  # it refuses the question: the configured unit it is
                log.info("%s: %s refused (%s); using %s", charger_id, action, exc.code, unit.unit)
        self._units[charger_id] = unit
        return unit

    async def read_back(self, sessions: Iterable[Session]) -> None:
        """Ask each charger the composite schedule now in force and record what it reports."""

        async def one(s: Session) -> None:
            unit = self._units.get(s.charger_id, self._config.rate_unit)
            try:
                shapes = self.shapes(s.charger_id)
                request = shapes.composite_request(s.connector_id, unit)
                answer = await self._call(
                    s.charger_id, "GetCompositeSchedule", request, timeout=self._config.command_timeout_s
                )
            except (CommandError, ValueError) as exc:
                log.info("%s connector %d: no composite schedule (%s)", s.charger_id, s.connector_id, exc)
                return
            s.reported_kw = reported = shapes.composite_limit_kw(answer, unit)
            confirmed = s.confirmed_kw
            if reported is not None and confirmed is not None and reported > confirmed + _READBACK_SLACK_KW:
                log.warning("%s connector %d reports %.2f kW in force, above the %.2f kW set",
                            s.charger_id, s.connector_id, reported, confirmed)  # fmt: skip

        await asyncio.gather(*(one(s) for s in sessions))

    async def clear(self, sessions: Iterable[Session]) -> None:
        """ClearChargingProfile for ended sessions' profiles (failures are logged, not retried)."""

        async def one(s: Session) -> None:
            config = self._config
            try:
                request = self.shapes(s.charger_id).clear_request(
                    s.connector_id, config.profile_id(s.connector_id), config.stack_level
                )
                await self._call(
                    s.charger_id, "ClearChargingProfile", request, timeout=config.command_timeout_s
                )
            except (CommandError, ValueError) as exc:
                log.info("%s connector %d: profile not cleared (%s)", s.charger_id, s.connector_id, exc)

        await asyncio.gather(*(one(s) for s in sessions))
