"""Voltyard's Rust core (voltyard-core) as seen from Python.

Errors are the classes of `voltyard.errors`: a refused frame raises an `OcppError` subclass whose
`code` is the OCPP-J CALLERROR code, with `message_id`, `action` and `message_type` when known.
"""

from os import PathLike
from typing import Any, ClassVar, final

__all__ = [
    "Call",
    "CallError",
    "CallResult",
    "OcppCodec",
    "check_can_crc",
    "crc8",
    "encode_call",
    "encode_call_error",
    "encode_call_result",
    "fill_can_crc",
]

@final
class Call:
    """A CALL: `[2, message_id, action, payload]`."""

    __match_args__: ClassVar[tuple[str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...

@final
class CallResult:
    """A CALLRESULT: `[3, message_id, payload]`."""

    __match_args__: ClassVar[tuple[str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def payload(self) -> Any: ...

@final
class CallError:
    """A CALLERROR: `[4, message_id, code, description, details]`."""

    __match_args__: ClassVar[tuple[str, str, str, str]]
    @property
    def message_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...

@final
class OcppCodec:
    """The OCPP 1.6 JSON schemas of a directory, compiled once, and the decoder that uses them.

    Raises `SchemaLoadError` when the directory cannot be read or a schema does not compile.
    """

    def __new__(cls, schema_dir: str | PathLike[str]) -> OcppCodec: ...
    @property
    def actions(self) -> list[str]:
        """The actions that have a request and a response schema, sorted."""

    def decode(
        self, frame: bytes | bytearray | memoryview | str, answers: str | None = None
    ) -> Call | CallResult | CallError:
        """Decode one OCPP-J text frame; CALL payloads are validated against their action's schema.

        A CALLRESULT's payload is validated against the response schema of `answers` (the action
        of the CALL it answers) when given. Raises an `OcppError` subclass on any failure.
        """

    def validate(self, action: str, payload: object, *, response: bool = False) -> None:
        """Validate a payload (plain Python objects) as the request or response of `action`."""

def encode_call(message_id: str, action: str, payload: object) -> bytes:
    """`[2, message_id, action, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_result(message_id: str, payload: object) -> bytes:
    """`[3, message_id, payload]` as JSON; raises `FrameEncodeError` on bad input."""

def encode_call_error(
    message_id: str, code: str, description: str = "", details: object | None = None
) -> bytes:
    """`[4, message_id, code, description, details]`; `code` must be an OCPP 1.6 code."""

def crc8(data: bytes) -> int:
    """CRC-8 (poly 0x07, init 0x00, no reflection, xorout 0x00) of `data`."""

def fill_can_crc(payload: bytes) -> bytes:
    """The 8-byte CAN payload with byte 7 set to the CRC-8 of bytes 0-6."""

def check_can_crc(payload: bytes) -> bool:
    """Whether byte 7 of an 8-byte CAN payload is the CRC-8 of bytes 0-6."""
