"""Small parts of the simulator: configuration store, charging profiles, histogram, backoff, options."""

from __future__ import annotations

import random

import pytest
from voltyard.errors import ConfigError
from voltyard.sim.link import ConnectOptions, backoff_delay
from voltyard.sim.settings import Settings
from voltyard.sim.smart_charging import Profile, Profiles
from voltyard.sim.stats import Histogram


def test_settings_defaults_changes_and_refusals() -> None:
    settings = Settings(2, {"MeterValueSampleInterval": "5"})
    assert settings.integer("MeterValueSampleInterval") == 5
    assert settings.get("NumberOfConnectors") == "2"
    assert settings.change("HeartbeatInterval", "60") == "Accepted"
    assert settings.integer("HeartbeatInterval") == 60
    assert settings.change("HeartbeatInterval", "soon") == "Rejected"
    assert settings.change("NumberOfConnectors", "4") == "Rejected"
    assert settings.change("NoSuchKey", "1") == "NotSupported"
    assert settings.change("LocalPreAuthorize", "TRUE") == "Accepted"
    assert settings.flag("LocalPreAuthorize")
    assert settings.change("SecurityProfile", "2") == "RebootRequired"
    assert settings.change("SecurityProfile", "1") == "Rejected"
    assert Settings(1).integer("MeterValueSampleInterval") == 60  # others keep the defaults


def test_get_configuration_hides_secrets_and_reports_unknown_keys() -> None:
    settings = Settings(1)
    settings.change("AuthorizationKey", "secret-key-123")
    everything = settings.report(None)
    keys = {item["key"] for item in everything["configurationKey"]}
    assert "AuthorizationKey" not in keys
    assert "HeartbeatInterval" in keys
    asked = settings.report(["AuthorizationKey", "Bogus", "NumberOfConnectors"])
    assert asked["unknownKey"] == ["AuthorizationKey", "Bogus"]
    assert asked["configurationKey"] == [{"key": "NumberOfConnectors", "readonly": True, "value": "1"}]


def profile(purpose: str, limit: float, *, stack: int = 0, unit: str = "W", connector: int = 1, **extra):
    raw = {
        "chargingProfileId": extra.pop("profile_id", stack + 1),
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": extra.pop("kind", "Absolute"),
        "chargingSchedule": {
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": extra.pop("periods", [{"startPeriod": 0, "limit": limit}]),
        },
        **extra,
    }
    return Profile.from_request(connector, raw, installed_at=1000.0)


def test_profiles_stack_purposes_and_units() -> None:
    profiles = Profiles()
    assert profiles.limit_w(1, 1000.0, None, None, 1) is None
    profiles.install(profile("TxDefaultProfile", 16, unit="A", connector=0))
    assert profiles.limit_w(1, 1000.0, None, None, 1) == pytest.approx(16 * 230 * 3)
    profiles.install(profile("TxDefaultProfile", 5000, stack=2))
    assert profiles.limit_w(1, 1000.0, None, None, 1) == 5000
    profiles.install(profile("TxProfile", 3000, transactionId=7))
    assert profiles.limit_w(1, 1000.0, None, 7, 1) == 3000
    assert profiles.limit_w(1, 1000.0, None, 8, 1) == 5000  # another transaction's profile does not apply
    profiles.install(profile("ChargePointMaxProfile", 4000, connector=0, profile_id=50))
    assert profiles.limit_w(1, 1000.0, None, 7, 2) == 2000  # the charger's cap is shared
    profiles.end_transaction(1)
    assert profiles.limit_w(1, 1000.0, None, 7, 1) == 4000
    assert profiles.clear({"chargingProfilePurpose": "ChargePointMaxProfile"})
    assert not profiles.clear({"id": 999})


def test_profile_periods_relative_and_duration() -> None:
    periods = [{"startPeriod": 0, "limit": 1000}, {"startPeriod": 60, "limit": 0}]
    relative = profile("TxDefaultProfile", 0, kind="Relative", periods=periods)
    assert relative.limit_at(now=5000.0, session_start=4990.0) == 1000
    assert relative.limit_at(now=5070.0, session_start=4990.0) == 0
    bounded = Profile.from_request(
        1,
        {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
         "chargingProfileKind": "Absolute", "chargingSchedule": {
             "duration": 30, "startSchedule": "1970-01-01T00:16:40Z", "chargingRateUnit": "W",
             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 800}]}},
        installed_at=0.0,
    )  # fmt: skip
    assert bounded.limit_at(1010.0, None) == 800
    assert bounded.limit_at(1031.0, None) is None


def test_histogram_percentiles_within_two_percent() -> None:
    histogram = Histogram()
    for millis in range(1, 1001):
        histogram.add(millis / 1000.0)
    assert histogram.count == 1000
    assert histogram.percentile_ms(0.5) == pytest.approx(500, rel=0.02)
    assert histogram.percentile_ms(0.99) == pytest.approx(990, rel=0.02)
    assert histogram.max_us == pytest.approx(1_000_000)
    assert Histogram().percentile_ms(0.99) == 0.0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt, 1.0, 30.0, rng) for attempt in range(8)]
    assert 0.5 <= delays[0] <= 1.0
    assert 4.0 <= delays[3] <= 8.0
    assert all(15.0 <= d <= 30.0 for d in delays[5:])
    assert len({round(d, 6) for d in delays}) == len(delays)


def test_connect_options_security_profiles() -> None:
    basic = ConnectOptions("ws://cs/ocpp", security_profile=1, password="pw-{charger_id}")
    basic.check()
    headers = basic.headers_for("CP 1", basic.password_for("CP 1"))
    assert headers["Sec-WebSocket-Protocol"] == "ocpp1.6"
    assert headers["Authorization"] == "Basic Q1AgMTpwdy1DUCAx"
    assert basic.url_for("CP 1") == "ws://cs/ocpp/CP%201"
    assert "Authorization" not in ConnectOptions("ws://cs").headers_for("CP1", None)
    with pytest.raises(ConfigError, match="needs a wss:// URL"):
        ConnectOptions("ws://cs", security_profile=2, password="x").check()
    with pytest.raises(ConfigError, match="needs --password"):
        ConnectOptions("ws://cs", security_profile=1).check()
    with pytest.raises(ConfigError, match="needs --cert-file"):
        ConnectOptions("wss://cs", security_profile=3).check()
    with pytest.raises(ConfigError, match="ws:// or wss://"):
        ConnectOptions("http://cs").check()
