"""Every key the loader accepts is documented, in configs/voltyard.toml and in docs/, and every key
documented there is one the loader accepts: key by key, both ways.

The loader's keys come from `voltyard.config.accepted_keys()`, which derives them from the typed config
classes as the loader does. configs/voltyard.toml is read with its commented-out settings (`# key =
value`, `#[section]`) put back; docs/ through its key tables: a table whose first column is `key` or
`setting`, under a heading that names the section (`` ## `[server]` ``), each key in backticks in its
first cell (`guns[i].plc_id` is the key `guns.plc_id` of every gun).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from voltyard.config import accepted_keys

ROOT = Path(__file__).resolve().parents[2]
_COMMENTED_TABLE = re.compile(r"#\s?(\[\[?[A-Za-z_][\w.]*\]\]?)\s*")
_COMMENTED_KEY = re.compile(r'#\s?((?:[A-Za-z_]\w*|"[^"]+")\s*=\s*\S.*)')
_SECTION_HEADING = re.compile(r"^#+ .*`\[([a-z_.]+)\]`")
_CODE = re.compile(r"`([^`]+)`")


def _uncommented(text: str) -> str:
    """The file with every commented-out setting and table header made live."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        match = _COMMENTED_TABLE.fullmatch(stripped) or _COMMENTED_KEY.fullmatch(stripped)
        lines.append(match[1] if match else line)
    return "\n".join(lines) + "\n"


def _keys_of(table: dict[str, Any], prefix: str, accepted: frozenset[str]) -> set[str]:
    """The dotted keys a parsed document sets: a table is a section unless it is itself a key's value."""
    found: set[str] = set()
    for key, value in table.items():
        path = f"{prefix}{key}"
        if path not in accepted and isinstance(value, dict):
            found |= _keys_of(value, f"{path}.", accepted)
        elif path not in accepted and isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                found |= _keys_of(item, f"{path}.", accepted)
        else:
            found.add(path)
    return found


def _shipped_keys() -> set[str]:
    text = _uncommented((ROOT / "configs" / "voltyard.toml").read_text(encoding="utf-8"))
    return _keys_of(tomllib.loads(text), "", accepted_keys())


def _documented_keys() -> dict[str, str]:
    """Every key of a key table in docs/*.md, with the page and line that document it."""
    found: dict[str, str] = {}
    for page in sorted((ROOT / "docs").glob("*.md")):
        section: str | None = None
        in_table = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("#"):
                heading = _SECTION_HEADING.match(line)
                section = heading[1] if heading else None
                continue
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not line.startswith("|"):
                in_table = False
            elif cells[0] in ("key", "setting"):
                in_table = section is not None
            elif in_table and not set(cells[0]) <= {"-", ":", " "}:
                for key in _CODE.findall(cells[0]):
                    found[f"{section}.{key.replace('[i]', '')}"] = f"{page.name}:{number}"
    return found


def test_every_accepted_key_is_in_the_shipped_config() -> None:
    missing = sorted(accepted_keys() - _shipped_keys())
    assert not missing, f"accepted by the loader but not in configs/voltyard.toml: {', '.join(missing)}"


def test_every_key_of_the_shipped_config_is_accepted() -> None:
    unknown = sorted(_shipped_keys() - accepted_keys())
    assert not unknown, f"in configs/voltyard.toml but refused by the loader: {', '.join(unknown)}"


def test_every_accepted_key_is_documented_in_docs() -> None:
    documented = _documented_keys()
    missing = sorted(accepted_keys() - documented.keys())
    assert not missing, f"accepted by the loader but in no key table of docs/: {', '.join(missing)}"


def test_every_key_documented_in_docs_is_accepted() -> None:
    documented = _documented_keys()
    accepted = accepted_keys()
    # A row may document a table of keys as a whole (`guns`, the list of [[cabinet.guns]]).
    tables = {key.rpartition(".")[0] for key in accepted}
    unknown = [f"{key} ({documented[key]})" for key in sorted(documented.keys() - accepted - tables)]
    assert not unknown, f"documented in docs/ but refused by the loader: {', '.join(unknown)}"
