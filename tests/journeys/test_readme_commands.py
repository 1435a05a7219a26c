"""The README's own claims about `voltyard serve`, walked with the installed entry point."""

from __future__ import annotations

from tests.journeys.appliance import RunningAppliance, voltyard


def test_help_of_every_documented_command_works() -> None:
    commands = (["--help"], ["serve", "--help"], ["demo", "--help"], ["sim", "--help"], ["plc-sim", "--help"],
                ["check-frames", "--help"], ["store", "migrate-to-postgresql", "--help"])  # fmt: skip
    for args in commands:
        result = voltyard(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert "usage:" in result.stdout


def test_serve_answers_health_and_stops_on_sigterm(appliance: RunningAppliance) -> None:
    health = appliance.api("GET", "/health")
    assert health.status == 200, health
    assert appliance.stop() == 0
