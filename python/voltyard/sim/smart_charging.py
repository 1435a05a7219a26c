"""Charging profiles installed on one simulated charger, and the power limit they impose right now.

Follows OCPP 1.6 §3.13: per connector, a TxProfile (bound to the running transaction) overrides a
TxDefaultProfile (the connector's, else connector 0's); the ChargePointMaxProfile on connector 0 caps
the charger as a whole and is shared evenly by the connectors that are charging. Within a purpose the
valid profile with the highest stack level wins. Limits in amperes become watts at 230 V per phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Profile", "Profiles", "parse_time"]

VOLTS_PER_PHASE = 230.0
_DEFAULT_PHASES = 3
_RECURRENCE_S = {"Daily": 86_400.0, "Weekly": 604_800.0}


def parse_time(text: str | None) -> float | None:
    """An OCPP date-time as epoch seconds (None stays None; a naive time is taken as UTC)."""
    if text is None:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC).timestamp()
    return parsed.timestamp()


@dataclass(frozen=True, slots=True)
class Profile:
    """One installed csChargingProfiles, with times parsed and limits converted to watts."""

    connector_id: int
    profile_id: int
    stack_level: int
    purpose: str
    kind: str
    recurrency: str | None
    valid_from: float | None
    valid_to: float | None
    transaction_id: int | str | None
    start: float | None
    duration: float | None
    periods: tuple[tuple[float, float], ...]  # (startPeriod s, limit W), ascending

    @classmethod
    def from_request(cls, connector_id: int, raw: dict[str, Any], installed_at: float) -> Profile:
        schedule = raw["chargingSchedule"]
        unit = schedule["chargingRateUnit"]
        periods = []
        for period in sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"]):
            limit = float(period["limit"])
            if unit == "A":
                limit *= VOLTS_PER_PHASE * period.get("numberPhases", _DEFAULT_PHASES)
            periods.append((float(period["startPeriod"]), limit))
        start = parse_time(schedule.get("startSchedule"))
        if start is None and raw["chargingProfileKind"] != "Relative":
            start = parse_time(raw.get("validFrom")) or installed_at
        duration = schedule.get("duration")
        return cls(
            connector_id=connector_id,
            profile_id=raw["chargingProfileId"],
            stack_level=raw["stackLevel"],
            purpose=raw["chargingProfilePurpose"],
            kind=raw["chargingProfileKind"],
            recurrency=raw.get("recurrencyKind"),
            valid_from=parse_time(raw.get("validFrom")),
            valid_to=parse_time(raw.get("validTo")),
            transaction_id=raw.get("transactionId"),
            start=start,
            duration=float(duration) if duration is not None else None,
            periods=tuple(periods),
        )

    def limit_at(self, now: float, session_start: float | None) -> float | None:
        """The limit (W) of the period in force at `now`, or None when the profile does not apply."""
        if (self.valid_from is not None and now < self.valid_from) or (
            self.valid_to is not None and now >= self.valid_to
        ):
            return None
        origin = session_start if self.kind == "Relative" else self.start
        if origin is None:
            origin = now  # a Relative profile outside a session starts "now" (for composite schedules)
        elapsed = now - origin
        if self.kind == "Recurring" and self.recurrency in _RECURRENCE_S:
            elapsed %= _RECURRENCE_S[self.recurrency]
        if elapsed < 0 or (self.duration is not None and elapsed >= self.duration):
            return None
        limit = None
        for start_period, period_limit in self.periods:
            if start_period > elapsed:
                break
            limit = period_limit
        return limit


class Profiles:
    """The profiles of one charger (created only once the central system sends one)."""

    __slots__ = ("installed",)

    def __init__(self) -> None:
        self.installed: dict[tuple[int, int], Profile] = {}

    def install(self, profile: Profile) -> None:
        """Add `profile`, replacing one with its id, or with its connector, purpose and stack level."""
        for key, other in list(self.installed.items()):
            same_slot = (other.connector_id, other.purpose, other.stack_level) == (
                profile.connector_id, profile.purpose, profile.stack_level,
            )  # fmt: skip
            if other.profile_id == profile.profile_id or same_slot:
                del self.installed[key]
        self.installed[profile.connector_id, profile.profile_id] = profile

    def clear(self, request: dict[str, Any]) -> bool:
        """ClearChargingProfile: remove every profile matching all given criteria; whether any matched."""
        wanted_id = request.get("id")
        connector = request.get("connectorId")
        purpose = request.get("chargingProfilePurpose")
        stack = request.get("stackLevel")
        matched = [
            key
            for key, profile in self.installed.items()
            if (wanted_id is None or profile.profile_id == wanted_id)
            and (connector is None or profile.connector_id == connector)
            and (purpose is None or profile.purpose == purpose)
            and (stack is None or profile.stack_level == stack)
        ]
        for key in matched:
            del self.installed[key]
        return bool(matched)

    def end_transaction(self, connector_id: int) -> None:
        """TxProfiles die with their transaction."""
        for key, profile in list(self.installed.items()):
            if profile.connector_id == connector_id and profile.purpose == "TxProfile":
                del self.installed[key]

    def limit_w(
        self,
        connector_id: int,
        now: float,
        session_start: float | None,
        transaction_id: int | str | None,
        sharing: int,
    ) -> float | None:
        """The connector's limit in W at `now` (None: unlimited); `sharing` connectors split the CP max."""
        tx_limit = self._best(connector_id, "TxProfile", now, session_start, transaction_id)
        if tx_limit is None:
            tx_limit = self._best(connector_id, "TxDefaultProfile", now, session_start, transaction_id)
        if tx_limit is None and connector_id != 0:
            tx_limit = self._best(0, "TxDefaultProfile", now, session_start, transaction_id)
        cp_limit = self._best(0, "ChargePointMaxProfile", now, session_start, transaction_id)
        if cp_limit is not None:
            cp_limit /= max(1, sharing)
        if tx_limit is None:
            return cp_limit
        return tx_limit if cp_limit is None else min(tx_limit, cp_limit)

    def _best(
        self,
        connector_id: int,
        purpose: str,
        now: float,
        session_start: float | None,
        transaction_id: int | str | None,
    ) -> float | None:
        best: Profile | None = None
        best_limit = None
        for profile in self.installed.values():
            if profile.connector_id != connector_id or profile.purpose != purpose:
                continue
            if purpose == "TxProfile" and profile.transaction_id not in (None, transaction_id):
                continue
            limit = profile.limit_at(now, session_start)
            if limit is not None and (best is None or profile.stack_level > best.stack_level):
                best, best_limit = profile, limit
        return best_limit
