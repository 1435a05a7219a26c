"""Write an SVG screenshot of each main screen into docs/screenshots/, against the fake control API.

    python tui/scripts/screenshots.py [--out docs/screenshots]

The scenes are the snapshot tests' (tui/tests/scenes.py), so the pictures in the docs are the screens the
tests check, at the same 120x40 size and on the same fixed data.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from conftest import build_app  # noqa: E402 - the tests' helpers, found through the path set above
from fake_api import FakeApi, FakeApiServer  # noqa: E402
from scenes import SCENES  # noqa: E402

SIZE = (120, 40)
REPO = Path(__file__).resolve().parents[2]


async def shoot(name: str, out: Path) -> Path:
    server = FakeApiServer(FakeApi.with_site())
    await server.start()
    try:
        with tempfile.TemporaryDirectory() as exports:
            app = build_app(server.url, Path(exports))
            async with app.run_test(size=SIZE) as pilot:
                await SCENES[name](pilot)
                await pilot.pause()
                return Path(app.save_screenshot(f"{name}.svg", str(out)))
    finally:
        await server.stop()


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in SCENES:
        print(await shoot(name, out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    asyncio.run(main(parser.parse_args().out))
