"""The cabinet's configuration: defaults, validation errors that name the key, plain-data loading."""

from __future__ import annotations

import re
from typing import Any

import pytest
from voltyard.can.config import BusConfig, CabinetConfig, DriverTiming, GunConfig
from voltyard.errors import CabinetConfigError


def test_defaults_follow_the_seed() -> None:
    config = CabinetConfig(guns=(GunConfig(connector_id=1, plc_id=0),))
    assert config.charge_point_id == "CABINET"
    assert (config.bus.interface, config.bus.bitrate) == ("socketcan", 125_000)
    t = config.timing
    assert (t.relay_period_s, t.ack_attempts, t.meter_stale_s) == (0.1, 3, 2.0)


@pytest.mark.parametrize(
    ("guns", "key", "problem"),
    [
        ((), "guns", "at least one gun"),
        ((GunConfig(connector_id=1, plc_id=16),), "guns[0].plc_id", "16 is not 0-15"),
        ((GunConfig(connector_id=0, plc_id=1),), "guns[0].connector_id", "0 is not >= 1"),
        (
            (GunConfig(connector_id=1, plc_id=2), GunConfig(connector_id=2, plc_id=2)),
            "guns[1].plc_id",
            "2 is already used by guns[0]",
        ),
        ((GunConfig(connector_id=1, plc_id=1, max_power_kw=float("nan")),), "guns[0].max_power_kw", "nan"),
    ],
)
def test_bad_guns_name_the_key(guns: tuple[GunConfig, ...], key: str, problem: str) -> None:
    with pytest.raises(CabinetConfigError, match=re.escape(problem)) as error:
        CabinetConfig(guns=guns)
    assert error.value.key == key
    assert str(error.value).startswith(f"{key}: ")


def test_bad_timing_and_bus_name_the_key() -> None:
    gun = (GunConfig(connector_id=1, plc_id=0),)
    with pytest.raises(CabinetConfigError, match=r"timing\.relay_period_s: must be <= 0\.2"):
        CabinetConfig(guns=gun, timing=DriverTiming(relay_period_s=0.5))
    with pytest.raises(CabinetConfigError, match=r"timing\.crc_burst: 0 is not a number > 0"):
        CabinetConfig(guns=gun, timing=DriverTiming(crc_burst=0))
    with pytest.raises(CabinetConfigError, match=r"bus\.bitrate: 5 is not"):
        BusConfig(bitrate=5)


def test_from_mapping() -> None:
    data: dict[str, Any] = {
        "charge_point_id": "SITE-DC",
        "bus": {"interface": "virtual", "channel": "demo"},
        "timing": {"meter_stale_s": 3, "crc_burst": 8},
        "guns": [{"connector_id": 1, "plc_id": 4, "label": "left"}, {"connector_id": 2, "plc_id": 5}],
    }
    config = CabinetConfig.from_mapping(data)
    assert config.charge_point_id == "SITE-DC"
    assert config.bus == BusConfig(interface="virtual", channel="demo")
    assert (config.timing.meter_stale_s, config.timing.crc_burst) == (3, 8)
    assert [g.plc_id for g in config.guns] == [4, 5]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"guns": [{"connector_id": 1, "plc_id": 0, "plcid": 1}]}, r"guns\[0\]\.plcid: unknown key"),
        ({"guns": [{"connector_id": 1, "plc_id": "0"}]}, r"guns\[0\]\.plc_id: '0' is not a int"),
        ({"guns": [{"connector_id": 1, "plc_id": 0}], "bus": {"bitrate": 1.5}}, r"bus\.bitrate: 1\.5"),
        ({"guns": {"connector_id": 1}}, r"guns: must be a list"),
        ({"guns": [{"connector_id": 1, "plc_id": 0}], "timing": []}, r"timing: must be a table"),
        ({"gun": []}, r"^gun: unknown key"),
    ],
)
def test_from_mapping_refuses_naming_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CabinetConfigError, match=message):
        CabinetConfig.from_mapping(data)
