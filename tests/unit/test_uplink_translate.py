"""voltyard.uplink.translate: a 2.0.1 / 2.1 charger presented over the 1.6 uplink.

Every translated request is validated by the codec of the version it is for (2.x down, 1.6 up), and every
answer translated back by 1.6's.
"""

from __future__ import annotations

from typing import Any

import pytest
from voltyard.ocpp.codec import load_codec
from voltyard.store.meter_log import MeterReading
from voltyard.uplink import messages, translate
from voltyard.uplink.translate import NotSupportedDownError

V16 = load_codec("1.6")
VERSIONS = ("2.0.1", "2.1")
LOCAL_TX = {7: "TX-seven"}  # local transaction id -> the 2.x charger's own transactionId

PROFILE_16 = {
    "chargingProfileId": 12,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "duration": 3600,
        "minChargingRate": 6.0,
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3}],
    },
}


def _down(action: str, request: dict[str, Any], version: str = "2.0.1") -> translate.Down:
    V16.validate(action, request)  # the central system's call is a valid 1.6 one
    translated = translate.down(
        action, request, version=version, charger_tx_id=LOCAL_TX.get, remote_start_id=4242
    )
    load_codec(version).validate(translated.action, translated.request)
    return translated


# --- down -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_start_is_request_start_with_a_central_id_token(version: str) -> None:
    down = _down("RemoteStartTransaction", {"idTag": "UP-TAG", "connectorId": 2}, version)
    assert (down.action, down.request) == (
        "RequestStartTransaction",
        {"idToken": {"idToken": "UP-TAG", "type": "Central"}, "evseId": 2, "remoteStartId": 4242},
    )
    assert _down("RemoteStartTransaction", {"idTag": "T"}, version).request == {
        "idToken": {"idToken": "T", "type": "Central"},
        "remoteStartId": 4242,
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_start_with_a_profile_carries_it_as_2x(version: str) -> None:
    down = _down(
        "RemoteStartTransaction", {"idTag": "T", "connectorId": 1, "chargingProfile": PROFILE_16}, version
    )
    assert down.request["chargingProfile"] == {
        "id": 12,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {
                "id": 12,
                "chargingRateUnit": "A",
                "duration": 3600,
                "minChargingRate": 6.0,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3}],
            }
        ],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_remote_stop_names_the_chargers_own_transaction_id(version: str) -> None:
    down = _down("RemoteStopTransaction", {"transactionId": 7}, version)
    assert (down.action, down.request) == ("RequestStopTransaction", {"transactionId": "TX-seven"})
    with pytest.raises(NotSupportedDownError, match=r"transaction 8 is not an OCPP .* transaction"):
        _down("RemoteStopTransaction", {"transactionId": 8}, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_change_availability_names_the_evse_but_for_the_whole_station(version: str) -> None:
    down = _down("ChangeAvailability", {"connectorId": 2, "type": "Inoperative"}, version)
    assert down.request == {"operationalStatus": "Inoperative", "evse": {"id": 2}}
    assert _down("ChangeAvailability", {"connectorId": 0, "type": "Operative"}, version).request == {
        "operationalStatus": "Operative"
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("kind", "expected"), [("Hard", "Immediate"), ("Soft", "OnIdle")])
def test_reset(version: str, kind: str, expected: str) -> None:
    assert _down("Reset", {"type": kind}, version).request == {"type": expected}


@pytest.mark.parametrize("version", VERSIONS)
def test_set_charging_profile_as_2x(version: str) -> None:
    request = {
        "connectorId": 0,
        "csChargingProfiles": {
            "chargingProfileId": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "validFrom": "2026-01-01T00:00:00Z",
            "chargingSchedule": {
                "startSchedule": "2026-01-01T00:00:00Z",
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000}],
            },
        },
    }
    down = _down("SetChargingProfile", request, version)
    assert down.request == {
        "evseId": 0,
        "chargingProfile": {
            "id": 3, "stackLevel": 0, "chargingProfilePurpose": "ChargingStationMaxProfile",
            "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
            "validFrom": "2026-01-01T00:00:00Z",
            "chargingSchedule": [{
                "id": 3, "startSchedule": "2026-01-01T00:00:00Z", "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000}],
            }],
        },
    }  # fmt: skip
    tx = {"connectorId": 1, "csChargingProfiles": {**PROFILE_16, "transactionId": 7}}
    assert _down("SetChargingProfile", tx, version).request["chargingProfile"]["transactionId"] == "TX-seven"
    with pytest.raises(NotSupportedDownError, match="transaction 9"):
        _down("SetChargingProfile", {**tx, "csChargingProfiles": {**PROFILE_16, "transactionId": 9}}, version)


@pytest.mark.parametrize(
    ("action", "request_16"),
    [
        ("TriggerMessage", {"requestedMessage": "Heartbeat"}),
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
        ("DataTransfer", {"vendorId": "com.voltyard"}),
        ("UnlockConnector", {"connectorId": 1}),
    ],
)
def test_any_other_action_is_not_supported_naming_what_is(action: str, request_16: dict[str, Any]) -> None:
    with pytest.raises(NotSupportedDownError) as refused:
        _down(action, request_16)
    assert str(refused.value).startswith(f"{action} is not relayed to an OCPP 2.0.1 charger")
    assert "RemoteStartTransaction" in str(refused.value)


# --- answers back -----------------------------------------------------------------------------------------

_ANSWERS = [
    ("RemoteStartTransaction", {"idTag": "T"}, {"status": "Accepted", "transactionId": "TX"}, "Accepted"),
    ("RemoteStartTransaction", {"idTag": "T"}, {"status": "Rejected", "statusInfo": {"reasonCode": "X"}},
     "Rejected"),
    ("RemoteStopTransaction", {"transactionId": 7}, {"status": "Rejected"}, "Rejected"),
    ("ChangeAvailability", {"connectorId": 1, "type": "Operative"}, {"status": "Scheduled"}, "Scheduled"),
    ("Reset", {"type": "Soft"}, {"status": "Scheduled"}, "Accepted"),
    ("Reset", {"type": "Hard"}, {"status": "Rejected"}, "Rejected"),
    ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": PROFILE_16}, {"status": "Accepted"},
     "Accepted"),
]  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("action", "request_16", "answer_2x", "status"), _ANSWERS)
def test_answers_come_back_as_16(
    version: str, action: str, request_16: dict[str, Any], answer_2x: dict[str, Any], status: str
) -> None:
    down = _down(action, request_16, version)
    load_codec(version).validate(down.action, answer_2x, response=True)
    answer = down.answer_16(answer_2x)
    V16.validate(action, answer, response=True)
    assert answer == {"status": status}


# --- up ---------------------------------------------------------------------------------------------------


def test_status_occupied_is_charging_in_a_transaction_else_preparing() -> None:
    assert translate.status_16("Occupied", True) == "Charging"
    assert translate.status_16("Occupied", False) == "Preparing"
    for status in ("Available", "Reserved", "Unavailable", "Faulted", "SuspendedEV", "Finishing"):
        assert translate.status_16(status, False) == status
        assert translate.status_16(status, True) == status
    assert translate.status_16("Unknown", False) is None


def test_boot_of_a_2x_station_fits_16() -> None:
    boot = {"chargePointVendor": "A vendor with a name of fifty characters, exactly!",
            "chargePointModel": "M", "chargePointSerialNumber": "S" * 25,
            "firmwareVersion": "F" * 50}  # fmt: skip
    request = messages.boot_request(boot, "CP")
    V16.validate("BootNotification", request)
    assert request["chargePointVendor"] == "A vendor with a name"
    assert request["chargePointSerialNumber"] == "S" * 25


def test_sampled_values_of_2x_become_16_with_the_same_quantity() -> None:
    sampled = [
        {"value": 1.5, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}},
        {"value": 7.4, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W", "multiplier": 3},
         "phase": "L1", "location": "Outlet", "context": "Sample.Periodic"},
        {"value": 12345},  # no unit: Wh, as in 2.x
        {"value": 1, "measurand": "Energy.Active.Net"},  # 2.x only: left out
        {"value": 1, "unitOfMeasure": {"unit": "Hz"}},  # a unit 1.6 lacks: left out
        {"value": 3.0, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"},
         "signedMeterValue": {"signedMeterData": "x", "signingMethod": "y", "encodingMethod": "z",
                              "publicKey": "k"}},
    ]  # fmt: skip
    assert translate.sampled_values_16(sampled) == [
        {"value": "1.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register"},
        {"value": "7400", "unit": "W", "measurand": "Power.Active.Import", "phase": "L1",
         "location": "Outlet", "context": "Sample.Periodic"},
        {"value": "12345", "unit": "Wh"},
        {"value": "3.0", "unit": "Percent", "measurand": "SoC"},
    ]  # fmt: skip
    one_six = [{"value": "100", "unit": "Wh", "format": "Raw"}]
    assert translate.sampled_values_16(one_six) == one_six  # a 1.6 charger's: as it is


def _reading(timestamp: str, sampled_value: str) -> MeterReading:
    return MeterReading("CP", 1, 7, timestamp, sampled_value, None, None, 1.0, False)


def test_meter_values_of_2x_readings_are_a_valid_16_message() -> None:
    rows = [
        _reading(
            "2026-01-01T00:00:00Z", '[{"value": 2.5, "unitOfMeasure": {"unit": "kWh", "multiplier": 0}}]'
        ),
        _reading("2026-01-01T00:01:00Z", '[{"value": 50, "unitOfMeasure": {"unit": "Hz"}}]'),
    ]
    request = messages.meter_values_request(7, rows)
    assert request is not None
    V16.validate("MeterValues", request)
    assert request["meterValue"] == [
        {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "2.5", "unit": "kWh"}]}
    ]
    assert messages.meter_values_request(7, rows[1:]) is None  # nothing 1.6 can carry


def test_start_and_stop_of_a_2x_transaction_fit_16() -> None:
    assert translate.id_tag_16("E" * 36) == "E" * 20
    assert messages.stop_request(1, 2, "t", "ImmediateReset", None)["reason"] == "HardReset"
    assert messages.stop_request(1, 2, "t", "EnergyLimitReached", None)["reason"] == "Other"
