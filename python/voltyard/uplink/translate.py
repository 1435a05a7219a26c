"""A local charger of OCPP 2.0.1 or 2.1 presented over the 1.6 uplink: pure functions of their inputs.

Up: what the site keeps of a 2.x charger (its boot data, its per-EVSE status, its transactions' readings as
the charger sent them) as the 1.6 messages a central system takes. Down: the central system's 1.6 calls of
the core set as the 2.x calls the charger takes (`down`), and each answer back as 1.6's (`Down.answer_16`).
Anything else for a charger of another version than the uplink's is refused (NotSupportedDownError: the
central system gets NotSupported): there is no faithful translation of it.

A 1.6 charger's messages go through unchanged: each function here leaves a 1.6 shape as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DOWN_ACTIONS",
    "Down",
    "NotSupportedDownError",
    "boot_16",
    "down",
    "id_tag_16",
    "sampled_values_16",
    "status_16",
    "stop_reason_16",
]

# 1.6 ChargePointStatus: a 2.x status in it goes up as it is (Available, Reserved, Unavailable, Faulted).
_STATUSES_16 = frozenset({
    "Available", "Preparing", "Charging", "SuspendedEVSE", "SuspendedEV", "Finishing", "Reserved",
    "Unavailable", "Faulted",
})  # fmt: skip
# 1.6 BootNotification's CiString lengths (a 2.x vendorName may be 50 long: cut, or the boot is refused).
_BOOT_LENGTHS = {
    "chargePointVendor": 20, "chargePointModel": 20, "chargePointSerialNumber": 25,
    "chargeBoxSerialNumber": 25, "firmwareVersion": 50, "iccid": 20, "imsi": 20, "meterType": 25,
    "meterSerialNumber": 25,
}  # fmt: skip
_ID_TAG_LENGTH = 20  # 1.6 IdToken is a CiString20; a 2.x idToken may be 36 long
# 1.6 SampledValue enumerations: a 2.x sample outside them has no 1.6 spelling and is left out.
_MEASURANDS_16 = frozenset({
    "Current.Export", "Current.Import", "Current.Offered", "Energy.Active.Export.Register",
    "Energy.Active.Import.Register", "Energy.Reactive.Export.Register", "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval", "Energy.Active.Import.Interval", "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval", "Frequency", "Power.Active.Export", "Power.Active.Import",
    "Power.Factor", "Power.Offered", "Power.Reactive.Export", "Power.Reactive.Import", "RPM", "SoC",
    "Temperature", "Voltage",
})  # fmt: skip
_UNITS_16 = frozenset({
    "Wh", "kWh", "varh", "kvarh", "W", "kW", "VA", "kVA", "var", "kvar", "A", "V", "Celsius", "Fahrenheit",
    "K", "Percent",
})  # fmt: skip
_CONTEXTS_16 = frozenset({
    "Interruption.Begin", "Interruption.End", "Sample.Clock", "Sample.Periodic", "Transaction.Begin",
    "Transaction.End", "Trigger", "Other",
})  # fmt: skip
_PHASES_16 = frozenset({"L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1"})
_LOCATIONS_16 = frozenset({"Cable", "EV", "Inlet", "Outlet", "Body"})
# 1.6 StopTransaction reasons for the 2.x stoppedReasons that have one under another name.
_STOP_REASONS = {"ImmediateReset": "HardReset", "StoppedByEV": "EVDisconnected"}


class NotSupportedDownError(Exception):
    """A central system's call that a charger of another OCPP version cannot be given."""


def status_16(status: str, in_transaction: bool) -> str | None:
    """A connector status as a 1.6 ChargePointStatus: 2.x Occupied is Charging while a transaction is
    active on the connector, Preparing otherwise; a status 1.6 has no word for is None (not sent)."""
    if status == "Occupied":
        return "Charging" if in_transaction else "Preparing"
    return status if status in _STATUSES_16 else None


def boot_16(boot: dict[str, str]) -> dict[str, str]:
    """Boot fields cut to 1.6's lengths (a 1.6 charger's are within them already)."""
    return {key: value[: _BOOT_LENGTHS.get(key, len(value))] for key, value in boot.items()}


def id_tag_16(id_tag: str) -> str:
    """A 2.x idToken as a 1.6 idTag: cut to 20 characters (1.6's IdToken)."""
    return id_tag[:_ID_TAG_LENGTH]


def stop_reason_16(reason: str) -> str:
    """A 2.x stoppedReason under its 1.6 name where it has another one (the rest is checked by the caller)."""
    return _STOP_REASONS.get(reason, reason)


def sampled_values_16(sampled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A meterValue's sampledValue as 1.6 has it. A 1.6 sample (its value a string) is left as it is; a 2.x
    one gets its value as a decimal string scaled by unitOfMeasure's multiplier, its unit beside it (Wh when
    none, as in 2.x): the same quantity. A 2.x sample with no 1.6 spelling (a measurand, unit, phase,
    location or context 1.6 lacks, a value that is no number) is left out; signedMeterValue has no 1.6 shape
    and is left out too."""
    samples: list[dict[str, Any]] = []
    for item in sampled:
        if isinstance(item.get("value"), str):
            samples.append(item)
            continue
        sample = _sample_16(item)
        if sample is not None:
            samples.append(sample)
    return samples


def _sample_16(item: dict[str, Any]) -> dict[str, Any] | None:
    unit_of_measure = item.get("unitOfMeasure") or {}
    unit = unit_of_measure.get("unit", "Wh")
    multiplier = unit_of_measure.get("multiplier", 0)
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(multiplier, int):
        return None
    if unit not in _UNITS_16 or abs(multiplier) > 30:  # beyond any meter's range
        return None
    try:
        scaled = Decimal(repr(value)).scaleb(multiplier)
    except InvalidOperation:  # inf, nan
        return None
    if not scaled.is_finite():
        return None
    # Without an exponent: 7.4 kW as W with multiplier 3 is "7400"; 1.5 stays "1.5".
    sample: dict[str, Any] = {"value": format(scaled, "f"), "unit": unit}
    for key, allowed in (
        ("measurand", _MEASURANDS_16),
        ("phase", _PHASES_16),
        ("location", _LOCATIONS_16),
        ("context", _CONTEXTS_16),
    ):
        if key in item:
            if item[key] not in allowed:
                return None
            sample[key] = item[key]
    return sample


# --- commands down --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Down:
    """A 1.6 call of the central system as the call to give a 2.x charger, and how its answer goes back."""

    action: str
    request: dict[str, Any]
    answer_16: Callable[[dict[str, Any]], dict[str, Any]]


DOWN_ACTIONS = frozenset({
    "RemoteStartTransaction", "RemoteStopTransaction", "ChangeAvailability", "Reset", "SetChargingProfile",
})  # fmt: skip
_RESET_TYPES = {"Hard": "Immediate", "Soft": "OnIdle"}
_PURPOSES = {
    "ChargePointMaxProfile": "ChargingStationMaxProfile", "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}  # fmt: skip


def _status_answer(scheduled_as: str | None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The 2.x answer's status as the 1.6 answer (2.x's statusInfo has no 1.6 place); Scheduled as
    `scheduled_as` where 1.6's answer lacks it."""

    def answer_16(answer: dict[str, Any]) -> dict[str, Any]:
        status = str(answer["status"])
        if status == "Scheduled" and scheduled_as is not None:
            status = scheduled_as
        return {"status": status if status in ("Accepted", "Rejected", "Scheduled") else "Rejected"}

    return answer_16


def down(
    action: str,
    request: dict[str, Any],
    *,
    version: str,
    charger_tx_id: Callable[[int], str | None],
    remote_start_id: int,
) -> Down:
    """The 1.6 call `action` of the central system for a charger of OCPP `version` (2.0.1 or 2.1).

    `charger_tx_id` gives the charger's own transactionId of a local transaction id (None: not one of its
    transactions); `remote_start_id` is the id the RequestStartTransaction is given.

    Raises:
        NotSupportedDownError: the action is not one of the core set translated, or this request of it
            has no 2.x counterpart (a RemoteStopTransaction of a transaction the charger does not know).
    """
    if action == "RemoteStartTransaction":
        start: dict[str, Any] = {
            "idToken": {"idToken": request["idTag"], "type": "Central"},
            "remoteStartId": remote_start_id,
        }
        connector_id = request.get("connectorId")
        if connector_id:
            start["evseId"] = connector_id
        if "chargingProfile" in request:
            start["chargingProfile"] = _profile_2x(request["chargingProfile"], charger_tx_id)
        return Down("RequestStartTransaction", start, _status_answer(None))
    if action == "RemoteStopTransaction":
        transaction_id = charger_tx_id(int(request["transactionId"]))
        if transaction_id is None:
            raise NotSupportedDownError(
                f"RemoteStopTransaction: transaction {request['transactionId']} is not an OCPP {version} "
                "transaction of this charge point"
            )
        return Down("RequestStopTransaction", {"transactionId": transaction_id}, _status_answer(None))
    if action == "ChangeAvailability":
        availability: dict[str, Any] = {"operationalStatus": request["type"]}
        if request["connectorId"]:
            availability["evse"] = {"id": request["connectorId"]}
        return Down("ChangeAvailability", availability, _status_answer(None))
    if action == "Reset":
        # 1.6 Reset answers Accepted or Rejected: a reset the charger scheduled (when idle) is accepted.
        return Down("Reset", {"type": _RESET_TYPES[request["type"]]}, _status_answer("Accepted"))
    if action == "SetChargingProfile":
        profile = {
            "evseId": request["connectorId"],
            "chargingProfile": _profile_2x(request["csChargingProfiles"], charger_tx_id),
        }
        return Down("SetChargingProfile", profile, _status_answer(None))
    raise NotSupportedDownError(
        f"{action} is not relayed to an OCPP {version} charger over the OCPP 1.6 uplink (translated: "
        f"{', '.join(sorted(DOWN_ACTIONS))})"
    )


def _profile_2x(profile: dict[str, Any], charger_tx_id: Callable[[int], str | None]) -> dict[str, Any]:
    """A 1.6 ChargingProfile as 2.x's: `id`, the purpose's 2.x name, the charger's transactionId, and the
    one schedule in a list (its id the profile's)."""
    schedule = dict(profile["chargingSchedule"])
    schedule_2x: dict[str, Any] = {"id": profile["chargingProfileId"], **schedule}
    out: dict[str, Any] = {
        "id": profile["chargingProfileId"],
        "stackLevel": profile["stackLevel"],
        "chargingProfilePurpose": _PURPOSES[profile["chargingProfilePurpose"]],
        "chargingProfileKind": profile["chargingProfileKind"],
        "chargingSchedule": [schedule_2x],
    }
    for key in ("recurrencyKind", "validFrom", "validTo"):
        if key in profile:
            out[key] = profile[key]
    if "transactionId" in profile:
        transaction_id = charger_tx_id(int(profile["transactionId"]))
        if transaction_id is None:
            raise NotSupportedDownError(
                f"chargingProfile: transaction {profile['transactionId']} is not a transaction of this "
                "charge point"
            )
        out["transactionId"] = transaction_id
    return out
