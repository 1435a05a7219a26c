"""`voltyard sim run --fleet ... --frames ...` and `voltyard sim craft` as a user runs them, against a real
`voltyard serve`: stations from templates boot with their own identity, every frame is exported, a bad
template is refused before anything connects, and hand-made broken frames get the right CALLERROR."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from tests.journeys.appliance import RunningAppliance, voltyard

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _copy_fleet(tmp_path: Path) -> Path:
    for name in ("sim-fleet.toml", "sim-ac22.toml", "sim-dc150.toml"):
        shutil.copy(CONFIGS / name, tmp_path / name)
    return tmp_path / "sim-fleet.toml"


def test_a_fleet_of_templates_boots_with_their_identities_and_exports_every_frame(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    for tag in ("AC22-FLEET-01", "AC22-FLEET-02", "SIM000003C1"):
        assert appliance.api("PUT", f"/id-tags/{tag}", {"status": "Accepted"}).status in (200, 201)
    frames = tmp_path / "frames.json"
    result = voltyard(
        "sim", "run", "--url", appliance.ocpp_url, "--fleet", str(_copy_fleet(tmp_path)),
        "--scenario", "basic_charge", "--duration", "8", "--frames", str(frames), "--progress", "off",
        "--control-socket", str(tmp_path / "ctl.sock"), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS sessions_complete" in result.stdout
    document = json.loads(frames.read_text())
    entries = document["frames"]
    boots = {
        entry["charger"]: json.loads(entry["frame"])[3]
        for entry in entries
        if entry["direction"] == "sent" and entry["action"] == "BootNotification" and entry["type"] == "CALL"
    }
    assert sorted(boots) == ["AC00000", "AC00001", "AC00002", "DC00003"]
    assert boots["AC00001"]["chargePointVendor"] == "Alpitronic"
    assert boots["AC00001"]["chargePointSerialNumber"] == "AC22-AC00001"
    assert boots["AC00001"]["iccid"] == "89490200001234567890"
    assert boots["DC00003"]["chargePointModel"] == "S-Series 150"
    # The AC stations' drivers present the template's tags; every answer is correlated with a round trip.
    tags = {
        json.loads(entry["frame"])[3]["idTag"]
        for entry in entries
        if entry["type"] == "CALL" and entry["action"] == "Authorize" and entry["charger"].startswith("AC")
    }
    assert tags == {"AC22-FLEET-01", "AC22-FLEET-02"}
    answers = [e for e in entries if e["direction"] == "received" and e["type"] == "CALLRESULT"]
    assert answers
    assert all(entry["action"] and entry["rtt_ms"] is not None for entry in answers)
    # The template's measurands reach the server (in the StopTransaction's transactionData: the sessions
    # are shorter than the template's 10 s sample interval).
    stops = [
        json.loads(e["frame"])[3]
        for e in entries
        if e["type"] == "CALL" and e["action"] == "StopTransaction" and e["charger"] == "AC00000"
    ]
    assert stops
    sampled = stops[0]["transactionData"][0]["sampledValue"]
    assert {v["measurand"] for v in sampled} == {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
    }
    charger = appliance.api("GET", "/chargers/DC00003")
    assert charger.status == 200
    assert "Kempower" in json.dumps(charger.json)


def test_frames_export_as_csv_by_suffix(appliance: RunningAppliance, tmp_path: Path) -> None:
    frames = tmp_path / "frames.csv"
    result = voltyard(
        "sim", "run", "--url", appliance.ocpp_url, "--chargers", "2", "--scenario", "idle",
        "--duration", "2", "--frames", str(frames), "--progress", "off",
        "--control-socket", str(tmp_path / "ctl.sock"), timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    with frames.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["charger"] for row in rows} == {"SIM00000", "SIM00001"}
    assert {"sent", "received"} == {row["direction"] for row in rows}


def test_a_bad_template_is_refused_before_anything_connects(tmp_path: Path) -> None:
    fleet = _copy_fleet(tmp_path)
    template = tmp_path / "sim-dc150.toml"
    template.write_text(template.read_text().replace("max_kw = 150", "max_kw = -150"))
    result = voltyard(
        "sim", "run", "--url", "ws://127.0.0.1:9/ocpp", "--fleet", str(fleet), "--progress", "off",
        "--control-socket", str(tmp_path / "ctl.sock"), timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"voltyard: {template}: [[connectors]] #1 max_kw: must be above 0 and at most 1000, got -150"
    )
    assert result.stdout == ""


def test_craft_sends_a_good_call_and_broken_frames_get_the_right_callerror(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    url = appliance.ocpp_url
    good = voltyard("sim", "craft", "--url", url, "--id", "CRAFT-A", "--action", "Heartbeat", timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "CRAFT-A -> CALL id=craft-1 BootNotification" in good.stdout
    assert good.stdout.splitlines()[-1].startswith("CALLRESULT in ")

    broken = voltyard(
        "sim", "craft", "--url", url, "--id", "CRAFT-A", "--raw", '[2,"m-77","Heartbeat",', timeout=60
    )
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert '<- CALLERROR id=m-77  [4,"m-77","FormationViolation"' in broken.stdout
    assert broken.stdout.splitlines()[-1].startswith("CALLERROR FormationViolation in ")

    frames = tmp_path / "craft.json"
    wrong_type = voltyard(
        "sim", "craft", "--url", url, "--id", "CRAFT-A", "--frames", str(frames), "--raw",
        '[2,"m-78","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]',
        timeout=60,
    )  # fmt: skip
    assert wrong_type.returncode == 1, wrong_type.stdout + wrong_type.stderr
    assert wrong_type.stdout.splitlines()[-1].startswith("CALLERROR TypeConstraintViolation in ")
    last = json.loads(frames.read_text())["frames"][-1]
    assert (last["type"], last["message_id"], last["action"]) == ("CALLERROR", "m-78", "StatusNotification")

    refused = voltyard(
        "sim",
        "craft",
        "--url",
        url,
        "--action",
        "StatusNotification",
        "--payload",
        '{"connectorId":"x"}',
        timeout=60,
    )
    assert refused.returncode == 2
    assert "StatusNotification payload refused by the OCPP 1.6 schema" in refused.stderr
    assert refused.stdout == ""  # nothing was sent


def test_craft_templates_are_generated_saved_and_recalled(
    appliance: RunningAppliance, tmp_path: Path
) -> None:
    store = tmp_path / "templates"
    shown = voltyard("sim", "craft", "--template", "Authorize", "--print", timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == [2, "craft-1", "Authorize", {"idTag": ""}]
    saved = voltyard(
        "sim", "craft", "--action", "Authorize", "--payload", '{"idTag":"NOBODY"}', "--save", "nobody",
        "--template-dir", str(store), "--print", timeout=60,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert json.loads((store / "nobody.json").read_text())["payload"] == {"idTag": "NOBODY"}
    recalled = voltyard(
        "sim", "craft", "--url", appliance.ocpp_url, "--template", "nobody", "--template-dir", str(store),
        timeout=60,
    )  # fmt: skip
    assert recalled.returncode == 0, recalled.stdout + recalled.stderr
    assert '"idTag":"NOBODY"' in recalled.stdout
    # An unknown tag is refused in the answer, not by an error: the crafter shows it as it came.
    assert '"status":"Invalid"' in recalled.stdout


def test_craft_without_a_server_says_so_with_exit_2(tmp_path: Path) -> None:
    result = voltyard("sim", "craft", "--url", "ws://127.0.0.1:9/ocpp", "--action", "Heartbeat", timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("voltyard sim craft: cannot connect to ws://127.0.0.1:9/ocpp/CRAFT01")
