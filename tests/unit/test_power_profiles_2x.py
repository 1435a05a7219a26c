"""The site power manager's payloads in each OCPP version (issue 20, Done-when 3): every request validates
against its version's schemas (the native codec), each version's composite-schedule answer is read, and the
manager sends a mixed fleet each charger's own shapes under one limit (fake chargers, no sockets)."""

from __future__ import annotations

from typing import Any

import pytest
from voltyard.errors import OcppError
from voltyard.events.kinds import ChargerBooted
from voltyard.ocpp.codec import load_codec
from voltyard.power.profiles import (
    OCPP2X,
    OCPP16,
    RateUnit,
    composite_limit_kw_2x,
    rate_unit_from_variables,
    shapes_for,
)

from tests.unit.test_power_manager import FakeChargers, FakeSite, make_rig

VERSIONS = ("1.6", "2.0.1", "2.1")
NOW = 1_767_225_600.0 + 42.0  # 2026-01-01T00:00:42Z
UNITS = (RateUnit("W"), RateUnit("A", 230.0, 3), RateUnit("A", 120.0, 1))


def transaction_of(version: str) -> int | str:
    return 77 if version == "1.6" else "c0ffee-77"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("minutes", [1, 3])
def test_limit_requests_validate_against_their_version(version: str, unit: RateUnit, minutes: int) -> None:
    codec = load_codec(version)
    shapes = shapes_for(version)
    tx, _ = shapes.limit_request(
        2,
        transaction_of(version),
        11.0,
        unit,
        profile_id=9102,
        stack_level=5,
        now_epoch_s=NOW,
        minutes=minutes,
    )
    default, _ = shapes.limit_request(
        0, None, 0.0, unit, profile_id=9100, stack_level=5, now_epoch_s=NOW, minutes=minutes
    )
    codec.validate("SetChargingProfile", tx)
    codec.validate("SetChargingProfile", default)
    codec.validate("ClearChargingProfile", shapes.clear_request(2, 9102, 5))
    codec.validate("GetCompositeSchedule", shapes.composite_request(2, unit))
    action, question = shapes.unit_question()
    codec.validate(action, question)


def test_the_2x_txprofile_names_the_evse_and_the_chargers_text_id() -> None:
    request, kw = OCPP2X.limit_request(
        2,
        "c0ffee-77",
        11.0,
        RateUnit("A", 230.0, 3),
        profile_id=9102,
        stack_level=5,
        now_epoch_s=NOW,
        minutes=2,
    )
    assert request == {
        "evseId": 2,
        "chargingProfile": {
            "id": 9102,
            "stackLevel": 5,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": "c0ffee-77",
            "chargingSchedule": [
                {
                    "id": 9102,
                    "startSchedule": "2026-01-01T00:00:00Z",
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 15.9, "numberPhases": 3},
                        {"startPeriod": 60, "limit": 15.9, "numberPhases": 3},
                    ],
                }
            ],
        },
    }
    assert kw == pytest.approx(15.9 * 230 * 3 / 1000)  # rounded down: what it stands for
    default, _ = OCPP2X.limit_request(
        2, None, 0.0, RateUnit("W"), profile_id=9100, stack_level=5, now_epoch_s=NOW, minutes=1
    )
    assert default["evseId"] == 0  # the start limit: every EVSE of the station
    assert default["chargingProfile"]["chargingProfilePurpose"] == "TxDefaultProfile"
    assert "transactionId" not in default["chargingProfile"]


def test_the_2x_clear_and_composite_requests() -> None:
    assert OCPP2X.clear_request(1, 9101, 5) == {
        "chargingProfileId": 9101,
        "chargingProfileCriteria": {"evseId": 1, "chargingProfilePurpose": "TxProfile", "stackLevel": 5},
    }
    assert OCPP2X.composite_request(1, RateUnit("W")) == {
        "evseId": 1,
        "duration": 60,
        "chargingRateUnit": "W",
    }


def test_a_transaction_named_the_other_versions_way_is_refused() -> None:
    with pytest.raises(ValueError, match="charger's transactionId \\(text\\), got 77"):
        OCPP2X.limit_request(
            1, 77, 5.0, RateUnit("W"), profile_id=1, stack_level=0, now_epoch_s=NOW, minutes=1
        )
    with pytest.raises(ValueError, match="integer transactionId, got 'abc'"):
        OCPP16.limit_request(
            1, "abc", 5.0, RateUnit("W"), profile_id=1, stack_level=0, now_epoch_s=NOW, minutes=1
        )


def test_an_unknown_version_has_no_shapes() -> None:
    with pytest.raises(ValueError, match=r"no charging-profile shapes for OCPP '2\.0'"):
        shapes_for("2.0")


def composite_answer(
    version: str, limit: float | None, unit: str = "W", phases: int | None = None
) -> dict[str, Any]:
    period: dict[str, Any] = {"startPeriod": 0}
    if limit is not None:
        period["limit"] = limit
    if phases is not None:
        period["numberPhases"] = phases
    later = {**period, "startPeriod": 60, "limit": 1.0}  # a later period is not the one in force now
    if version == "1.6":
        schedule = {"chargingRateUnit": unit, "chargingSchedulePeriod": [later, period]}
        return {"status": "Accepted", "connectorId": 1, "chargingSchedule": schedule}
    schedule = {
        "evseId": 1,
        "duration": 60,
        "scheduleStart": "2026-01-01T00:00:00Z",
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [later, period],
    }
    return {"status": "Accepted", "schedule": schedule}


@pytest.mark.parametrize("version", VERSIONS)
def test_composite_schedules_are_read_in_each_version(version: str) -> None:
    codec = load_codec(version)
    shapes = shapes_for(version)
    watts = composite_answer(version, 7400.0)
    amperes = composite_answer(version, 16.0, "A", 1)
    for answer in (watts, amperes):
        codec.validate("GetCompositeSchedule", answer, response=True)
    assert shapes.composite_limit_kw(watts, RateUnit("A")) == pytest.approx(7.4)  # the answer's unit counts
    assert shapes.composite_limit_kw(amperes, RateUnit("A", 230.0, 3)) == pytest.approx(16 * 230 / 1000)
    rejected = {"status": "Rejected"}
    codec.validate("GetCompositeSchedule", rejected, response=True)
    assert shapes.composite_limit_kw(rejected, RateUnit("W")) is None


def test_a_21_composite_period_without_a_limit_reports_none() -> None:
    answer = composite_answer("2.1", None)
    load_codec("2.1").validate("GetCompositeSchedule", answer, response=True)
    with pytest.raises(OcppError):  # 2.0.1 requires the limit
        load_codec("2.0.1").validate("GetCompositeSchedule", answer, response=True)
    assert composite_limit_kw_2x(answer, RateUnit("W")) is None


def variables_answer(value: str | None, status: str = "Accepted") -> dict[str, Any]:
    result: dict[str, Any] = {
        "attributeStatus": status,
        "component": {"name": "SmartChargingCtrlr"},
        "variable": {"name": "RateUnit"},
    }
    if value is not None:
        result["attributeValue"] = value
    return {"getVariableResult": [result]}


@pytest.mark.parametrize(
    ("value", "status", "unit"),
    [("A,W", "Accepted", "W"), ("W", "Accepted", "W"), ("A", "Accepted", "A"), ("A", "UnknownVariable", None),
     (None, "Accepted", None)],
)  # fmt: skip
def test_the_2x_rate_unit_from_getvariables(value: str | None, status: str, unit: str | None) -> None:
    answer = variables_answer(value, status)
    for version in ("2.0.1", "2.1"):
        load_codec(version).validate("GetVariables", answer, response=True)
    found = rate_unit_from_variables(answer, RateUnit("A", 120.0, 1))
    assert (found.unit if found else None) == unit
    if found is not None:
        assert (found.voltage_v, found.phases) == (120.0, 1)  # the fallback's figures


# --- the manager with a mixed fleet ----------------------------------------------------------------------


class MixedChargers(FakeChargers):
    """`FakeChargers` (1.6, with its site invariant) behind a translation for 2.x chargers: each request is
    validated against the charger's version's schema, turned into its 1.6 equivalent for the fake, and the
    answer turned back into the 2.x shape and validated as a response."""

    def __init__(self, site: FakeSite, versions: dict[str, str]) -> None:
        super().__init__(site)
        self.versions = versions
        self.got: list[tuple[str, str, str, dict[str, Any]]] = []  # (charger, version, action, request)

    async def __call__(self, charger_id: str, action: str, payload: dict[str, Any], *, timeout=None):
        version = self.versions.get(charger_id, "1.6")
        codec = load_codec(version)
        codec.validate(action, payload)
        self.got.append((charger_id, version, action, payload))
        if version == "1.6":
            answer = await super().__call__(charger_id, action, payload, timeout=timeout)
        elif action == "GetVariables":
            self.calls.append((charger_id, action, payload))
            answer = variables_answer("A,W")
        elif action == "SetChargingProfile":
            profile = payload["chargingProfile"]
            old = {
                "connectorId": payload["evseId"],
                "csChargingProfiles": {"chargingSchedule": profile["chargingSchedule"][0]},
            }
            answer = await super().__call__(charger_id, action, old, timeout=timeout)
        elif action == "GetCompositeSchedule":
            old = await super().__call__(
                charger_id, action, {"connectorId": payload["evseId"]}, timeout=timeout
            )
            answer = {"status": old["status"]}
            if "chargingSchedule" in old:
                answer["schedule"] = {
                    "evseId": payload["evseId"], "duration": payload["duration"],
                    "scheduleStart": "2026-01-01T00:00:00Z", **old["chargingSchedule"],
                }  # fmt: skip
        else:
            answer = await super().__call__(charger_id, action, payload, timeout=timeout)
        codec.validate(action, answer, response=True)
        return answer


async def test_a_mixed_fleet_gets_its_own_shapes_under_one_limit() -> None:
    versions = {"CP16": "1.6", "CP201": "2.0.1", "CP21": "2.1"}
    rig = make_rig(limit_kw=30.0, versions=versions, chargers=lambda site: MixedChargers(site, versions))
    chargers: MixedChargers = rig.chargers  # type: ignore[assignment]
    for charger_id, version in versions.items():
        if version != "1.6":  # a 2.x transaction is known by its charger's text id from its first event
            rig.transactions.charger_tx_ids[rig.next_tx + 1] = f"{charger_id}-tx"
        rig.start_session(charger_id, 1)
    plan = await rig.manager.rebalance("session started")
    assert sum(s["limit_kw"] for s in plan["sessions"]) <= 30.0 + 1e-6
    assert chargers.worst_after_raise <= 1e-6
    for charger_id, version in versions.items():
        got = [(v, action) for charger, v, action, _ in chargers.got if charger == charger_id]
        question = "GetConfiguration" if version == "1.6" else "GetVariables"
        assert got == [
            (version, question),
            (version, "SetChargingProfile"),
            (version, "GetCompositeSchedule"),
        ]
        session = rig.manager.sessions[charger_id, 1]
        assert session.confirmed_kw == pytest.approx(10.0)
        assert session.reported_kw == pytest.approx(10.0)  # read back in its own version
    sent = {
        charger: request for charger, _, action, request in chargers.got if action == "SetChargingProfile"
    }
    assert (
        sent["CP16"]["csChargingProfiles"]["transactionId"] == rig.manager.sessions["CP16", 1].transaction_id
    )
    assert sent["CP201"]["chargingProfile"]["transactionId"] == "CP201-tx"
    assert sent["CP21"]["chargingProfile"]["transactionId"] == "CP21-tx"
    assert sent["CP21"]["evseId"] == 1


async def test_a_2x_session_ending_is_cleared_in_the_2x_shape() -> None:
    versions = {"CP201": "2.0.1"}
    rig = make_rig(limit_kw=30.0, versions=versions, chargers=lambda site: MixedChargers(site, versions))
    chargers: MixedChargers = rig.chargers  # type: ignore[assignment]
    rig.transactions.charger_tx_ids[rig.next_tx + 1] = "tx-a"
    rig.start_session("CP201", 2)
    await rig.manager.rebalance("session started")
    rig.stop_session("CP201", 2)
    await rig.manager.rebalance("session ended")
    clears = [request for _, _, action, request in chargers.got if action == "ClearChargingProfile"]
    assert clears == [
        {
            "chargingProfileId": 9102,
            "chargingProfileCriteria": {"evseId": 2, "chargingProfilePurpose": "TxProfile", "stackLevel": 5},
        }
    ]


async def test_start_limits_go_to_each_version_as_its_txdefaultprofile() -> None:
    versions = {"CP16": "1.6", "CP21": "2.1"}
    rig = make_rig(
        limit_kw=30.0,
        versions=versions,
        chargers=lambda site: MixedChargers(site, versions),
        start_limit_kw=0.0,
    )
    chargers: MixedChargers = rig.chargers  # type: ignore[assignment]
    for charger_id in versions:
        rig.events.publish(ChargerBooted(charger_id, "Accepted"))
    await rig.manager.rebalance("charger booted")
    sent = {
        charger: request for charger, _, action, request in chargers.got if action == "SetChargingProfile"
    }
    assert sent["CP16"]["connectorId"] == 0
    assert sent["CP16"]["csChargingProfiles"]["chargingProfilePurpose"] == "TxDefaultProfile"
    assert sent["CP21"]["evseId"] == 0
    assert sent["CP21"]["chargingProfile"]["chargingProfilePurpose"] == "TxDefaultProfile"
