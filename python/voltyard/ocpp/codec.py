"""The `OcppCodec` of each OCPP version in a process, compiled from the `ocpp` package's schemas.

The schemas (1.6 core and security extension, 78 files; 2.0.1, 128 files; 2.1, 181 files) are
read from the installed `ocpp` package, never copied into this repository, and compiled once per
version by the native module.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Literal, get_args, overload

from voltyard._native import Call, CallError, CallResult, CallResultError, OcppCodec, Send
from voltyard.errors import SchemaLoadError

__all__ = ["OCPP_VERSIONS", "OcppVersion", "load_codec", "ocpp16_schema_dir", "schema_dir"]

OcppVersion = Literal["1.6", "2.0.1", "2.1"]
OCPP_VERSIONS: tuple[OcppVersion, ...] = get_args(OcppVersion)

# The folder of each version's schemas inside the `ocpp` package.
_FOLDERS: dict[str, str] = {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}


def schema_dir(version: str = "1.6") -> Path:
    """The directory of `version`'s JSON schemas inside the installed `ocpp` package."""
    folder = _FOLDERS.get(version)
    if folder is None:
        raise SchemaLoadError(f"OCPP version must be one of {', '.join(OCPP_VERSIONS)}, got {version!r}")
    try:
        root = resources.files("ocpp") / folder / "schemas"
    except ModuleNotFoundError as exc:
        raise SchemaLoadError(
            f"the `ocpp` package is not installed; its OCPP {version} schemas are needed"
        ) from exc
    path = Path(str(root))
    if not path.is_dir():
        raise SchemaLoadError(
            f"{path}: the installed `ocpp` package ({_installed_ocpp()}) has no OCPP {version} "
            f"schemas here; upgrade it to a release that ships ocpp/{folder}/schemas"
        )
    return path


def _installed_ocpp() -> str:
    try:
        return f"version {metadata.version('ocpp')}"
    except metadata.PackageNotFoundError:
        return "version unknown"


def ocpp16_schema_dir() -> Path:
    """The directory of OCPP 1.6 JSON schemas inside the installed `ocpp` package."""
    return schema_dir("1.6")


@overload
def load_codec(version: Literal["1.6", "2.0.1"] = "1.6") -> OcppCodec[Call | CallResult | CallError]: ...
@overload
def load_codec(version: str) -> OcppCodec[Call | CallResult | CallError | CallResultError | Send]: ...
def load_codec(version: str = "1.6") -> OcppCodec[Call | CallResult | CallError | CallResultError | Send]:
    """The process-wide codec of `version` (1.6 unless given); compiled on first use, shared afterwards."""
    return _load_codec(version)


@cache
def _load_codec(version: str) -> OcppCodec[Call | CallResult | CallError | CallResultError | Send]:
    return OcppCodec(schema_dir(version), version)
