"""The one `OcppCodec` of a process, compiled from the `ocpp` package's OCPP 1.6 schemas.

The schemas (core and security extension, 78 files) are read from the installed `ocpp` package,
never copied into this repository, and compiled once by the native module.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from voltyard._native import OcppCodec
from voltyard.errors import SchemaLoadError

__all__ = ["load_codec", "ocpp16_schema_dir"]


def ocpp16_schema_dir() -> Path:
    """The directory of OCPP 1.6 JSON schemas inside the installed `ocpp` package."""
    try:
        root = resources.files("ocpp") / "v16" / "schemas"
    except ModuleNotFoundError as exc:
        raise SchemaLoadError("the `ocpp` package is not installed; its OCPP 1.6 schemas are needed") from exc
    path = Path(str(root))
    if not path.is_dir():
        raise SchemaLoadError(f"{path}: the installed `ocpp` package has no OCPP 1.6 schemas here")
    return path


@cache
def load_codec() -> OcppCodec:
    """The process-wide codec; compiled on first use, shared afterwards."""
    return OcppCodec(ocpp16_schema_dir())
