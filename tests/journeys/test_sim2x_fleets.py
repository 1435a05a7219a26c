"""`voltyard sim run --protocol ...` as a user runs it: 2.0.1, 2.1 and mixed-version fleets against a real
`voltyard serve`, running the default scenario; the sessions land in the appliance's store.

The versions are checked on the server's side (the API's `ocpp_version` of each charger while the fleets
are connected), and the sessions through the API's transaction list: every planned session complete with
energy, for every version.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from tests.journeys.appliance import RunningAppliance, voltyard, voltyard_bin

ACCEPT_ALL = '[ocpp]\nunknown_id_tag = "accept"\n'
# (id prefix, --protocol, chargers): each fleet runs basic_charge, one session per connector.
FLEETS = (("PV201", "2.0.1", 2), ("PV21", "2.1", 2), ("PMIX", "1.6:50,2.0.1:30,2.1:20", 10))


def _chargers(appliance: RunningAppliance) -> list[dict[str, Any]]:
    answer = appliance.api("GET", "/chargers")
    assert answer.status == 200
    items: list[dict[str, Any]] = answer.json["items"]
    return items


def test_2x_and_mixed_fleets_complete_their_sessions_into_the_store(tmp_path: Path) -> None:
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=ACCEPT_ALL)
    runs: list[tuple[str, subprocess.Popen[str]]] = []
    try:
        for prefix, protocol, chargers in FLEETS:
            command = [
                str(voltyard_bin()), "sim", "run", "--url", appliance.ocpp_url, "--protocol", protocol,
                "--chargers", str(chargers), "--connectors", "2", "--id-prefix", prefix, "--duration", "12",
                "--seed", "5", "--progress", "off", "--control-socket", str(tmp_path / f"{prefix}.sock"),
            ]  # fmt: skip
            runs.append(
                (prefix, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            )
        versions: dict[str, str] = {}

        def all_seen() -> bool:
            for charger in _chargers(appliance):
                if charger["ocpp_version"] is not None:
                    versions[charger["id"]] = charger["ocpp_version"]
            return len(versions) == sum(chargers for _, _, chargers in FLEETS)

        appliance.wait_for(all_seen, timeout=60, what="every simulated charger connected")
        outputs = {}
        for prefix, process in runs:
            out, err = process.communicate(timeout=120)
            outputs[prefix] = out
            assert process.returncode == 0, f"{prefix}:\n{out}\n{err}"
        answer = appliance.api("GET", "/transactions?limit=1000")
        assert answer.status == 200
        transactions = answer.json["items"]
    finally:
        for _, process in runs:
            if process.poll() is None:
                process.kill()
                process.communicate()
        appliance.stop()
    # The server spoke the version each fleet asked for; the mix in its shares, spread over the fleet.
    assert {cid: v for cid, v in versions.items() if cid.startswith("PV201")} == dict.fromkeys(
        ("PV20100000", "PV20100001"), "2.0.1"
    )
    assert {v for cid, v in versions.items() if cid.startswith("PV21")} == {"2.1"}
    mixed = Counter(v for cid, v in versions.items() if cid.startswith("PMIX"))
    assert mixed == {"1.6": 5, "2.0.1": 3, "2.1": 2}
    assert "OCPP 1.6 x5, 2.0.1 x3, 2.1 x2" in outputs["PMIX"].splitlines()[0]
    for out in outputs.values():
        assert "PASS sessions_complete" in out
    # Every planned session (one per connector) is in the store, closed, with energy, for every version.
    by_version: Counter[str] = Counter()
    for transaction in transactions:
        version = versions[transaction["charger_id"]]
        assert not transaction["active"], transaction
        assert transaction["energy_wh"] > 0, transaction
        # A 2.x transaction keeps the charger's own string id; a 1.6 one has the server's only.
        assert (transaction["charger_transaction_id"] is not None) == (version != "1.6"), transaction
        by_version[version] += 1
    assert by_version == {"1.6": 10, "2.0.1": 4 + 6, "2.1": 4 + 4}
    assert len({(t["charger_id"], t["connector_id"]) for t in transactions}) == len(transactions)


def test_a_bad_protocol_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    for value, words in (
        ("2.0", "--protocol '2.0': unknown OCPP version '2.0' (known: 1.6, 2.0.1, 2.1)"),
        (
            "1.6:50,2.1:x",
            "--protocol '1.6:50,2.1:x': the share of 2.1 must be a whole number above 0, got 'x'",
        ),
    ):
        result = voltyard(
            "sim", "run", "--url", "ws://127.0.0.1:9/ocpp", "--protocol", value, "--progress", "off",
            "--control-socket", str(tmp_path / "ctl.sock"), timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.strip().splitlines() == [f"voltyard: {words}"]
        assert result.stdout == ""
    help_text = voltyard("sim", "run", "--help").stdout
    assert "--protocol VERSION[:SHARE],..." in help_text
    assert "1.6:50,2.0.1:40,2.1:10" in help_text


def test_a_station_offering_several_versions_speaks_the_one_the_server_picks(tmp_path: Path) -> None:
    # The server allows 1.6 and 2.0.1 only: a station offering 2.1 first gets 2.0.1, the highest it allows.
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(config=ACCEPT_ALL + 'versions = ["1.6", "2.0.1"]\n')
    (tmp_path / "any.toml").write_text(
        '[template]\nprotocol = ["2.1", "2.0.1", "1.6"]\n[identity]\nvendor = "Multi"\nmodel = "M3"\n'
    )
    (tmp_path / "fleet.toml").write_text(
        '[[stations]]\ntemplate = "any.toml"\ncount = 2\nid_prefix = "ANY"\n'
    )
    try:
        result = voltyard(
            "sim", "run", "--url", appliance.ocpp_url, "--fleet", str(tmp_path / "fleet.toml"),
            "--duration", "8", "--progress", "off", "--control-socket", str(tmp_path / "ctl.sock"),
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines()[0].endswith("; OCPP 2.0.1 x2")
        transactions = appliance.api("GET", "/transactions?charger_id=ANY00000").json["items"]
        assert len(transactions) == 1
        assert transactions[0]["charger_transaction_id"] is not None  # a 2.x transaction
        assert transactions[0]["energy_wh"] > 0
    finally:
        appliance.stop()


def test_power_saturation_holds_the_site_limit_over_a_mixed_fleet(tmp_path: Path) -> None:
    # The site power manager limits every version in its own form (1.6 csChargingProfiles, 2.x
    # chargingProfile); the simulated chargers draw what the limits allow.
    appliance = RunningAppliance(tmp_path / "site")
    appliance.start(
        config=ACCEPT_ALL + "[power]\nenabled = true\nrebalance_period_s = 0.5\nstart_delay_s = 0.1\n"
        "ramp_down_s = 0.2\n"
    )
    try:
        assert appliance.api("PUT", "/site", {"limit_kw": 40, "operator": "journey"}).status == 200
        result = voltyard(
            "sim", "run", "--url", appliance.ocpp_url, "--chargers", "6", "--connectors", "2",
            "--protocol", "1.6:1,2.0.1:1,2.1:1", "--scenario", "power_saturation", "--duration", "16",
            "--site-limit-kw", "40", "--progress", "off", "--control-socket", str(tmp_path / "ctl.sock"),
            timeout=150,
        )  # fmt: skip
    finally:
        appliance.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "; OCPP 1.6 x2, 2.0.1 x2, 2.1 x2" in result.stdout.splitlines()[0]
    assert "PASS site_limit" in result.stdout
    assert "PASS sessions_complete: 12 sessions begun of 12 planned" in result.stdout
