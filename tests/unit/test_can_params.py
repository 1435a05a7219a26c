"""The PLC parameters as OCPP keys (voltyard.can.params): key names, value conversion and ranges."""

from __future__ import annotations

import pytest
from voltyard.can.frames import ConfigParam
from voltyard.can.params import BY_PARAM, PARAMETERS, BadValueError, parameter_for_key


def test_every_dbc_parameter_but_none_is_a_key() -> None:
    assert {p.param for p in PARAMETERS} == set(ConfigParam) - {ConfigParam.NONE}
    assert [p.name for p in PARAMETERS if p.read_only] == ["FirmwareVersion"]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("Gun1.MaxCurrentA", (1, ConfigParam.MAX_CURRENT_0p1A)),
        ("gun12.relaytimeoutms", (12, ConfigParam.RELAY_TIMEOUT_MS)),
        ("Gun3.FirmwareVersion", (3, ConfigParam.FW_VERSION)),
        ("Gun1.Colour", None),
        ("MaxCurrentA", None),
        ("Gun.MaxCurrentA", None),
        ("HeartbeatInterval", None),
    ],
)
def test_keys(key: str, expected: tuple[int, ConfigParam] | None) -> None:
    found = parameter_for_key(key)
    assert (None if found is None else (found[0], found[1].param)) == expected


def test_values_convert_both_ways() -> None:
    current = BY_PARAM[ConfigParam.MAX_CURRENT_0p1A]
    assert current.from_ocpp("250.5") == 2505
    assert current.from_ocpp("500") == 5000
    assert current.to_ocpp(2505) == "250.5"
    assert current.to_ocpp(5000) == "500"
    lock = BY_PARAM[ConfigParam.LOCK_REQUIRED]
    assert lock.from_ocpp("TRUE") == 1
    assert lock.to_ocpp(0) == "false"
    assert BY_PARAM[ConfigParam.FW_VERSION].to_ocpp(0x010203) == "1.2.3"


@pytest.mark.parametrize(
    ("param", "value", "why"),
    [
        (ConfigParam.MAX_CURRENT_0p1A, "500.1", "outside 0-500"),
        (ConfigParam.MAX_CURRENT_0p1A, "-1", "outside 0-500"),
        (ConfigParam.MAX_CURRENT_0p1A, "1.25", "more decimals than 0.1"),
        (ConfigParam.MAX_CURRENT_0p1A, "NaN", "not a number"),
        (ConfigParam.MAX_CURRENT_0p1A, "Infinity", "not a number"),
        (ConfigParam.RELAY_TIMEOUT_MS, "199", "outside 200-500"),
        (ConfigParam.RELAY_TIMEOUT_MS, "1e9", "outside 200-500"),
        (ConfigParam.STATUS_PERIOD_MS, "abc", "not a number"),
        (ConfigParam.LOCK_REQUIRED, "1", "not true or false"),
    ],
)
def test_bad_values_say_why(param: ConfigParam, value: str, why: str) -> None:
    with pytest.raises(BadValueError, match=why):
        BY_PARAM[param].from_ocpp(value)
