"""Per-charger leniency: named deviations from the OCPP 1.6 schemas that real chargers make, repaired on
ingest and counted instead of answered with a CALLERROR. Strict by default.

The fast path never sees this module: only a CALL the native codec refused is offered here, and only for
a charger with at least one rule enabled (in the store, in [leniency] default, or for its vendor or
vendor/model in [leniency] by_model). The repaired payload must then pass the schema, or the charger gets
the CALLERROR it would have had anyway.

Rules:
- numeric_sampled_value: a sampledValue.value sent as a JSON number becomes its string;
- long_serial_numbers: BootNotification serial numbers over 25 characters are cut to 25;
- unknown_enum_values: an unknown StatusNotification.errorCode becomes OtherError (the original kept in
  vendorErrorCode), an unknown StopTransaction.reason becomes Other, unknown sampledValue
  measurand/unit/context/location/phase/format are dropped (their defaults apply);
- single_object_as_array: a single object where meterValue, sampledValue or transactionData wants an array
  is wrapped in one.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from ocpp.v16 import enums

from voltyard._native import OcppCodec
from voltyard.config import LENIENCY_RULES, LeniencyConfig
from voltyard.domain.chargers import Chargers
from voltyard.errors import OcppError

__all__ = ["Leniency", "RepairedCall"]

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Fixer = Callable[[str, Payload], bool]


@dataclass(frozen=True, slots=True)
class RepairedCall:
    """A CALL made valid by leniency rules; quacks like `voltyard._native.Call` for dispatch."""

    message_id: str
    action: str
    payload: Payload
    rules: tuple[str, ...]
    meter_values: None = None  # never read natively: handlers read `payload`


def _values(enum: type[Any]) -> frozenset[str]:
    return frozenset(member.value for member in enum)


_SAMPLED_ENUMS = {
    "measurand": _values(enums.Measurand),
    "unit": _values(enums.UnitOfMeasure),
    "context": _values(enums.ReadingContext),
    "location": _values(enums.Location),
    "phase": _values(enums.Phase),
    "format": _values(enums.ValueFormat),
}
_ERROR_CODES = _values(enums.ChargePointErrorCode)
_REASONS = _values(enums.Reason)
_SERIALS = ("chargePointSerialNumber", "chargeBoxSerialNumber", "meterSerialNumber")
_SERIAL_MAX = 25


def _meter_values(action: str, payload: Payload) -> list[Any]:
    if action == "MeterValues":
        values = payload.get("meterValue")
    elif action == "StopTransaction":
        values = payload.get("transactionData")
    else:
        return []
    return values if isinstance(values, list) else []


def _sampled_values(action: str, payload: Payload) -> Iterator[dict[str, Any]]:
    for meter_value in _meter_values(action, payload):
        if isinstance(meter_value, dict) and isinstance(meter_value.get("sampledValue"), list):
            yield from (item for item in meter_value["sampledValue"] if isinstance(item, dict))


def numeric_sampled_value(action: str, payload: Payload) -> bool:
    changed = False
    for sampled in _sampled_values(action, payload):
        value = sampled.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            sampled["value"] = str(value)
            changed = True
    return changed


def long_serial_numbers(action: str, payload: Payload) -> bool:
    if action != "BootNotification":
        return False
    changed = False
    for key in _SERIALS:
        value = payload.get(key)
        if isinstance(value, str) and len(value) > _SERIAL_MAX:
            payload[key] = value[:_SERIAL_MAX]
            changed = True
    return changed


def unknown_enum_values(action: str, payload: Payload) -> bool:
    changed = False
    if action == "StatusNotification":
        code = payload.get("errorCode")
        if isinstance(code, str) and code not in _ERROR_CODES:
            payload.setdefault("vendorErrorCode", code[:50])
            payload["errorCode"] = "OtherError"
            changed = True
    if action == "StopTransaction":
        reason = payload.get("reason")
        if isinstance(reason, str) and reason not in _REASONS:
            payload["reason"] = "Other"
            changed = True
    for sampled in _sampled_values(action, payload):
        for key, allowed in _SAMPLED_ENUMS.items():
            if key in sampled and sampled[key] not in allowed:
                del sampled[key]
                changed = True
    return changed


def single_object_as_array(action: str, payload: Payload) -> bool:
    key = {"MeterValues": "meterValue", "StopTransaction": "transactionData"}.get(action)
    if key is None:
        return False
    changed = False
    if isinstance(payload.get(key), dict):
        payload[key] = [payload[key]]
        changed = True
    for meter_value in _meter_values(action, payload):
        if isinstance(meter_value, dict) and isinstance(meter_value.get("sampledValue"), dict):
            meter_value["sampledValue"] = [meter_value["sampledValue"]]
            changed = True
    return changed


# Order matters: shapes first, so that the value rules find the arrays they walk.
FIXERS: dict[str, Fixer] = {
    "single_object_as_array": single_object_as_array,
    "numeric_sampled_value": numeric_sampled_value,
    "long_serial_numbers": long_serial_numbers,
    "unknown_enum_values": unknown_enum_values,
}
assert set(FIXERS) == set(LENIENCY_RULES)


class Leniency:
    """Repairs refused CALLs of chargers that have rules enabled, and counts what each rule tolerated."""

    def __init__(self, config: LeniencyConfig, chargers: Chargers, codec: OcppCodec) -> None:
        self.config = config
        self.chargers = chargers
        self.codec = codec
        self.counts: Counter[tuple[str, str]] = Counter()

    def rules_for(self, charger_id: str) -> frozenset[str]:
        record = self.chargers.records.get(charger_id)
        rules = set(self.config.default)
        if record is not None:
            rules.update(record.leniency)
            vendor = record.boot.get("chargePointVendor")
            model = record.boot.get("chargePointModel")
            if vendor is not None:
                rules.update(self.config.by_model.get(vendor, ()))
                rules.update(self.config.by_model.get(f"{vendor}/{model}", ()))
        return frozenset(rules)

    def repair(self, charger_id: str, data: bytes, error: OcppError) -> RepairedCall | None:
        """The CALL repaired by the charger's rules, if they make it valid; None otherwise."""
        rules = self.rules_for(charger_id)
        if not rules or error.action is None or error.message_id is None:
            return None
        try:
            frame = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if not (isinstance(frame, list) and len(frame) == 4 and isinstance(frame[3], dict)):
            return None
        action, payload = error.action, frame[3]
        applied = tuple(rule for rule, fix in FIXERS.items() if rule in rules and fix(action, payload))
        if not applied:
            return None
        try:
            self.codec.validate(action, payload)
        except OcppError:
            return None
        for rule in applied:
            self.counts[charger_id, rule] += 1
        log.debug("%s: %s tolerated by %s", charger_id, action, ", ".join(applied))
        return RepairedCall(error.message_id, action, payload, applied)
