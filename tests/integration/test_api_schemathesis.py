"""schemathesis against the OpenAPI document of a running `voltyard serve`: every check but the heuristic
"valid data is accepted" (a command's body is valid only against its action's OCPP schema, which the
document does not repeat), fixed seed for a reproducible run. The WebSocket stream is tested elsewhere."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.server_process import ServerProcess


@pytest.mark.slow
@pytest.mark.timeout(300)  # 30 examples on every route of the document: a minute, more on a busy machine
async def test_schemathesis_finds_no_failure(tmp_path) -> None:
    server = ServerProcess(tmp_path / "data")
    await server.start()
    token = (tmp_path / "data" / "api-token-operator").read_text().strip()
    try:
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from schemathesis.cli import schemathesis; schemathesis()",
            "run",
            f"http://127.0.0.1:{server.api_port}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--exclude-path",
            "/api/v1/stream",
            "-n",
            "30",
            "--seed",
            "7",
            "--request-timeout",
            "40",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(run.communicate(), 240)
    finally:
        assert await server.stop() == 0
    text = output.decode(errors="replace")
    assert run.returncode == 0, text[-8000:]
    assert "passed" in text
