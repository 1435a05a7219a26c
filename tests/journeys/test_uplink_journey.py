"""The uplink as a user runs it: a site `voltyard serve` with `[uplink]` towards an upstream `voltyard serve`
(its own data dir), both the installed entry point, and simulated chargers (`voltyard sim run`) at the site.

- every site transaction appears upstream with the same energy and the same meter values, in order;
- the upstream's control API reaches a site charger (RemoteStartTransaction starts a session there, which
  comes back up as a transaction), and an upstream charging profile above the site's share is capped, on
  record in the site's event log;
- the upstream cut (stopped) for 60 s in the middle of sessions and started again: local charging went on, and
  afterwards every queued message arrived once and in order;
- a misconfigured uplink is refused at start with one line naming the key, exit 2.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.journeys.appliance import RunningAppliance, voltyard, voltyard_bin

_UPSTREAM = """
[ocpp]
unknown_id_tag = "accept"
"""


def _site_config(upstream_port: int) -> str:
    return f"""
[ocpp]
unknown_id_tag = "accept"

[uplink]
url = "ws://127.0.0.1:{upstream_port}/ocpp"
meter_interval = 1.0
backoff_min = 0.2
backoff_max = 1.0
call_timeout = 5.0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flags(data_dir: Path, port: int = 0) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(port), "--api-port", "0", "--data-dir", str(data_dir)]


def _sim(url: str, tmp_path: Path, scenario: str, duration: int, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(voltyard_bin()), "sim", "run", "--url", url, "--chargers", "2", "--scenario", scenario,
            "--duration", str(duration), "--sample-interval", "1", "--progress", "off", "--no-plot",
            "--id-prefix", prefix, "--control-socket", str(tmp_path / f"{prefix}.sock"),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _finish(sim: subprocess.Popen[str], timeout: float = 120) -> str:
    try:
        out, _ = sim.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        sim.kill()
        out, _ = sim.communicate(timeout=10)
        raise AssertionError(f"voltyard sim did not end:\n{out}") from None
    return out


def _transactions(appliance: RunningAppliance) -> list[dict[str, Any]]:
    answer = appliance.api("GET", "/transactions?limit=500")
    assert answer.status == 200, answer
    items: list[dict[str, Any]] = answer.json["items"]
    return items


def _detail(appliance: RunningAppliance, transaction_id: int) -> dict[str, Any]:
    answer = appliance.api("GET", f"/transactions/{transaction_id}")
    assert answer.status == 200, answer
    detail: dict[str, Any] = answer.json
    return detail


def _uplink(appliance: RunningAppliance) -> dict[str, Any]:
    health: dict[str, Any] = appliance.api("GET", "/health").json
    return dict(health["uplink"])


def _caps(appliance: RunningAppliance) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = appliance.api("GET", "/events?category=power&limit=5000").json["items"]
    return [event for event in events if event["kind"] == "UplinkProfileCapped"]


def _point_state(appliance: RunningAppliance, charger_id: str) -> str | None:
    point = _uplink(appliance)["charge_points"].get(charger_id)
    return None if point is None else str(point["state"])


def _same_upstream(site: RunningAppliance, upstream: RunningAppliance) -> None:
    """Every stopped site transaction is upstream (matched by charger and start time) with the same energy,
    and the same meter values in the same order, each once."""
    local = [t for t in _transactions(site) if not t["active"]]
    remote = {(t["charger_id"], t["start_time"]): t for t in _transactions(upstream)}
    assert local, "no site transaction to compare"
    for transaction in local:
        key = (transaction["charger_id"], transaction["start_time"])
        assert key in remote, f"site transaction {key} is not upstream: {sorted(remote)}"
        theirs = remote[key]
        assert (theirs["meter_start"], theirs["meter_stop"], theirs["energy_wh"]) == (
            transaction["meter_start"], transaction["meter_stop"], transaction["energy_wh"],
        )  # fmt: skip
        ours_mv = _detail(site, transaction["id"])["meter_values"]
        theirs_mv = _detail(upstream, theirs["id"])["meter_values"]
        assert [(m["timestamp"], m["energy_wh"]) for m in theirs_mv] == [
            (m["timestamp"], m["energy_wh"]) for m in ours_mv
        ], f"meter values of {key} differ upstream"
    assert len(_transactions(upstream)) == len(_transactions(site)), "a transaction arrived twice upstream"


def test_site_transactions_go_upstream_and_upstream_commands_come_down(tmp_path: Path) -> None:
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start(_UPSTREAM, _flags(upstream.data_dir))
    try:
        site.start(_site_config(upstream.ocpp_port), _flags(site.data_dir))
        try:
            sim = _sim(site.ocpp_url, tmp_path, "basic_charge", 12, "UPA")
            out = _finish(sim)
            assert "PASS sessions_complete" in out, out
            site.wait_for(lambda: _uplink(site)["queued"] == 0 and len(_transactions(upstream)) >= 2,
                          what="the site's transactions upstream")  # fmt: skip
            _same_upstream(site, upstream)
            uplink = _uplink(site)
            assert uplink["state"] == "online", uplink
            assert set(uplink["charge_points"]) == {"UPA00000", "UPA00001"}
            assert uplink["last_sync"] is not None

            # The upstream's API reaches a site charger, through the site's command service.
            idle = _sim(site.ocpp_url, tmp_path, "idle", 25, "UPB")
            try:
                site.wait_for(
                    lambda: _point_state(site, "UPB00000") == "online", what="UPB00000 online upstream"
                )
                upstream.wait_for(
                    lambda: upstream.api("GET", "/chargers/UPB00000").json.get("connected") is True,
                    what="UPB00000 connected upstream",
                )
                started = upstream.api(
                    "POST", "/chargers/UPB00000/commands/RemoteStartTransaction",
                    {"idTag": "UPSTREAM-TAG", "connectorId": 1},
                )  # fmt: skip
                assert started.status == 200, started
                assert started.json["answer"] == {"status": "Accepted"}, started
                upstream.wait_for(
                    lambda: any(t["id_tag"] == "UPSTREAM-TAG" for t in _transactions(upstream)),
                    what="the remotely started session, back upstream as a transaction",
                )
                assert any(t["id_tag"] == "UPSTREAM-TAG" for t in _transactions(site))

                # A profile above the site's share is capped; the cap is in the site's event log.
                assert site.api("PUT", "/site", {"limit_kw": 11.0, "operator": "journey"}).status == 200
                profile = {
                    "connectorId": 1,
                    "csChargingProfiles": {
                        "chargingProfileId": 77, "stackLevel": 1,
                        "chargingProfilePurpose": "TxDefaultProfile",
                        "chargingProfileKind": "Absolute", "chargingSchedule": {
                            "chargingRateUnit": "W", "startSchedule": "2026-01-01T00:00:00Z",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 50000}],
                        },
                    },
                }  # fmt: skip
                capped = upstream.api("POST", "/chargers/UPB00000/commands/SetChargingProfile", profile)
                assert capped.status == 200, capped
                site.wait_for(lambda: bool(_caps(site)), what="UplinkProfileCapped in the site's event log")
                caps = _caps(site)
                assert caps[-1]["data"]["requestedKw"] == 50.0
                assert caps[-1]["data"]["capKw"] == 11.0
            finally:
                _finish(idle)
        finally:
            assert site.stop() == 0
    finally:
        assert upstream.stop() == 0


def _site_readings(site: RunningAppliance) -> int:
    return sum(len(_detail(site, t["id"])["meter_values"]) for t in _transactions(site))


@pytest.mark.slow
@pytest.mark.timeout(300)  # a 90 s fleet run with the upstream cut for 60 s of it (Done-when 3 of its issue)
def test_upstream_cut_for_60_s_mid_session_gets_everything_once_and_in_order_after(tmp_path: Path) -> None:
    # Sessions of 27-45 s start 4-22 s into a 90 s run; the upstream is cut once the first is upstream and
    # stays away 60 s, so that sessions start, charge and end while it is gone.
    port = _free_port()
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start(_UPSTREAM, _flags(upstream.data_dir, port))
    try:
        site.start(_site_config(port), _flags(site.data_dir))
        sim = _sim(site.ocpp_url, tmp_path, "basic_charge", 90, "CUT")
        try:
            upstream.wait_for(
                lambda: len(_transactions(upstream)) >= 1, timeout=60, what="a session upstream"
            )
            assert upstream.stop() == 0
            cut_at = time.monotonic()
            site.wait_for(lambda: _uplink(site)["state"] == "offline", what="the uplink offline")
            readings_at_cut = _site_readings(site)
            time.sleep(max(0.0, 60 - (time.monotonic() - cut_at)))
            # Local charging went on without the upstream: readings kept coming, and the queue holds them.
            assert _site_readings(site) > readings_at_cut
            uplink = _uplink(site)
            assert uplink["state"] == "offline", uplink
            assert uplink["queued"] > 0, uplink
            # What waits is listed, oldest first, each charge point's messages in the order they happened.
            waiting = site.api("GET", "/uplink/queue?limit=1000").json
            assert waiting["total"] >= uplink["queued"] > 0, waiting["total"]
            seqs = [item["seq"] for item in waiting["items"]]
            assert seqs == sorted(seqs)
            actions = {item["action"] for item in waiting["items"]}
            assert {"MeterValues"} <= actions <= {"StartTransaction", "MeterValues", "StopTransaction",
                                                 "StatusNotification"}, actions  # fmt: skip

            upstream = RunningAppliance(tmp_path / "upstream" / "data")
            upstream.start(_UPSTREAM, _flags(upstream.data_dir, port))
            out = _finish(sim)
            assert "PASS sessions_complete" in out, out
            site.wait_for(lambda: _uplink(site)["queued"] == 0, timeout=60, what="the queue sent upstream")
            assert site.api("GET", "/uplink/queue").json == {"items": [], "total": 0}
            _same_upstream(site, upstream)
            assert _uplink(site)["state"] == "online"
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.communicate(timeout=10)
            assert site.stop() == 0
    finally:
        upstream.stop()


def test_misconfigured_uplink_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[uplink]\nurl = "wss://csms.example/ocpp"\nsecurity_profile = 3\n')
    result = voltyard("check-config", "--config", str(config))
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"voltyard: {config}: uplink.cert_file: security profile 3 needs cert_file and key_file"
    ]
    served = voltyard("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"), timeout=60)
    assert served.returncode == 2
    assert "uplink.cert_file" in served.stderr


def _rejected_swipes(site: RunningAppliance) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = site.api("GET", "/events?category=charger&limit=5000").json["items"]
    return [event for event in events if event["kind"] == "AuthorizeRejected"]


def test_authorize_is_the_central_systems_while_online_and_local_while_not(tmp_path: Path) -> None:
    # The central system refuses tags it does not know; the site accepts them. Online, the central system's
    # answer wins (no session starts); with the central system gone, the site's does (sessions run).
    port = _free_port()
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start('[ocpp]\nunknown_id_tag = "reject"\n', _flags(upstream.data_dir, port))
    try:
        site.start(_site_config(port), _flags(site.data_dir))
        try:
            out = _finish(_sim(site.ocpp_url, tmp_path, "basic_charge", 8, "AUT"))
            assert "0 starts accepted" in out or "0 sessions begun" in out, out
            site.wait_for(lambda: bool(_rejected_swipes(site)), what="the central system's Invalid on record")
            assert {event["data"]["status"] for event in _rejected_swipes(site)} == {"Invalid"}
            assert _transactions(site) == []

            assert upstream.stop() == 0
            site.wait_for(lambda: _uplink(site)["state"] == "offline", what="the uplink offline")
            out = _finish(_sim(site.ocpp_url, tmp_path, "basic_charge", 12, "AUT"))
            assert "PASS sessions_complete" in out, out  # offline: the site's own policy accepts
        finally:
            assert site.stop() == 0
    finally:
        upstream.stop()


def test_upstream_remote_start_starts_a_session_on_a_cabinet_gun(tmp_path: Path) -> None:
    upstream = RunningAppliance(tmp_path / "upstream" / "data")
    site = RunningAppliance(tmp_path / "site" / "data")
    upstream.start(_UPSTREAM, _flags(upstream.data_dir))
    cabinet = """
[cabinet]
charge_point_id = "CABINET"
simulate_plcs = true
bus = { interface = "virtual", channel = "voltyard-uplink-journey" }
guns = [{ connector_id = 1, plc_id = 0 }, { connector_id = 2, plc_id = 1 }]
"""
    try:
        # The site refuses unknown tags, so that the simulated EVs' AutoCharge ids do not start the guns.
        config = _site_config(upstream.ocpp_port).replace(
            'unknown_id_tag = "accept"', 'unknown_id_tag = "reject"'
        )
        site.start(config + cabinet, _flags(site.data_dir))
        try:
            site.wait_for(
                lambda: _point_state(site, "CABINET") == "online", what="the cabinet online upstream"
            )
            upstream.wait_for(
                lambda: (
                    {c["connector_id"] for c in upstream.api("GET", "/chargers/CABINET").json["connectors"]}
                    >= {1, 2}
                ),
                what="the guns' states upstream after the cabinet's boot",
            )
            started = upstream.api(
                "POST",
                "/chargers/CABINET/commands/RemoteStartTransaction",
                {"idTag": "FLEET-1", "connectorId": 1},
            )
            assert started.status == 200, started
            assert started.json["answer"] == {"status": "Accepted"}, started
            upstream.wait_for(
                lambda: (
                    [(t["charger_id"], t["connector_id"], t["id_tag"]) for t in _transactions(upstream)]
                    == [("CABINET", 1, "FLEET-1")]
                ),
                what="the gun's session upstream",
            )
            assert [(t["charger_id"], t["connector_id"], t["active"]) for t in _transactions(site)] == [
                ("CABINET", 1, True)
            ]
        finally:
            assert site.stop() == 0
    finally:
        assert upstream.stop() == 0
