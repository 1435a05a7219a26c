"""Action -> handler table, built once at start from the handler modules (no global route list).

A handler takes the session and the validated payload and returns the response payload, or an
awaitable of it when the answer must wait (a durable write). A handler registered with `whole_call`
takes the decoded CALL instead (`voltyard._native.Call` or a leniency `RepairedCall`), for what the
decoder reads natively (MeterValues). Handlers raise `OcppError` subclasses to answer with a CALLERROR.

Integers are checked here, once for every action, before any handler sees them: the decoder reads numbers up
to 2^64 - 1, the store holds signed 64-bit integers, and a value between the two once killed the store's
writer thread at the next commit (issue 17). A payload whose integer field (found from the action's schema)
is outside the store's range is refused with PropertyConstraintViolation, the OCPP-J 1.6 code for "a field
contains an invalid value" (the type, integer, is right; its value is not). A handler registered with
`wide_integers` takes such values itself (StopTransaction: a stop is always answered and recorded).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson

from voltyard.errors import (
    ActionNotImplementedError,
    ActionNotSupportedError,
    PropertyConstraintViolationError,
)
from voltyard.ocpp.actions import ACTION_TABLES
from voltyard.ocpp.codec import schema_dir

if TYPE_CHECKING:
    from voltyard.ocpp.session import Session

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Handler",
    "Payload",
    "Reply",
    "Router",
    "check_integers",
    "fits_int64",
    "unhandled",
]

Payload = dict[str, Any]
Reply = Payload | Awaitable[Payload]
# The second argument is the payload, or the decoded CALL for a `whole_call` handler.
Handler = Callable[["Session", Any], Reply]

# What the store holds in an INTEGER column (SQLite: signed 64-bit).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# A path to an integer field of a payload: keys of objects, `_EACH` for every item of an array.
_EACH = None
_Path = tuple[str | None, ...]


def fits_int64(value: int) -> bool:
    """Whether the store can hold `value` in an INTEGER column."""
    return INT64_MIN <= value <= INT64_MAX


def _integer_paths(
    schema: dict[str, Any], path: _Path = (), definitions: dict[str, Any] | None = None
) -> Iterator[_Path]:
    # 2.x schemas name their object types once, in "definitions", and "$ref" them (1.6's have none); the
    # schemas have no recursive types, so following every reference ends.
    definitions = schema.get("definitions", {}) if definitions is None else definitions
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = definitions[ref.rsplit("/", 1)[-1]]
    kind = schema.get("type")
    if kind == "integer":
        yield path
    elif kind == "object":
        for key, sub in schema.get("properties", {}).items():
            yield from _integer_paths(sub, (*path, key), definitions)
    elif kind == "array" and isinstance(schema.get("items"), dict):
        yield from _integer_paths(schema["items"], (*path, _EACH), definitions)


@cache
def integer_paths(action: str, version: str = "1.6") -> tuple[_Path, ...]:
    """The integer fields of `action`'s request schema in `version` (none for an action without a schema;
    `<Action>Response` names a response)."""
    folder = schema_dir(version)
    file = folder / f"{action}.json"
    if version != "1.6" and not action.endswith("Response"):
        file = folder / f"{action}Request.json"
    if not file.is_file():
        return ()
    return tuple(_integer_paths(json.loads(file.read_text(encoding="utf-8"))))


def unhandled(action: str, version: str = "1.6") -> ActionNotImplementedError | ActionNotSupportedError:
    """The CALLERROR for a CALL no handler takes.

    OCPP-J 1.6 and 2.x (part 4, RPC framework) both distinguish an action the receiver does not know
    (NotImplemented) from one it knows but does not take (NotSupported): a CSMS-only action (Reset,
    RemoteStartTransaction...) sent by a charger is the second, and once got InternalError, which tells the
    charger the central system is broken. A 1.6 action a 2.x charger sends (StartTransaction) is not of its
    version: NotImplemented.
    """
    if action in ACTION_TABLES[version]:
        return ActionNotSupportedError(
            f"{action} is an OCPP {version} action this central system does not take from a charger"
        )
    return ActionNotImplementedError(f"{action} is not an OCPP {version} action")


def _out_of_range(value: object, path: _Path, where: str) -> tuple[str, int] | None:
    """The JSON pointer and value of the first integer along `path` the store cannot hold, else None."""
    if not path:
        # bool is an int to Python, never to the decoder; a schema-valid integer field holds an int.
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            return where, value
        return None
    key, rest = path[0], path[1:]
    if key is _EACH:
        if isinstance(value, list):
            for index, item in enumerate(value):
                found = _out_of_range(item, rest, f"{where}/{index}")
                if found is not None:
                    return found
        return None
    if isinstance(value, dict) and key in value:
        return _out_of_range(value[key], rest, f"{where}/{key}")
    return None


def check_integers(action: str, payload: object, version: str = "1.6") -> None:
    """Refuse a payload with an integer field beyond the store's signed 64-bit range.

    Raises:
        PropertyConstraintViolationError: naming the field (a JSON pointer), its value and the range.
    """
    paths = integer_paths(action, version)
    if not paths:
        return
    # Nearly every payload has no integer beyond 2^53 at all, which orjson finds in one native pass: walking
    # the paths in Python cost a 2.x TransactionEvent (four sampled values) more than decoding it. Only a
    # payload with a larger integer somewhere is walked, to find which field and whether it is beyond 2^63.
    try:
        orjson.dumps(payload, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        pass
    else:
        return
    for path in paths:
        found = _out_of_range(payload, path, "")
        if found is not None:
            where, value = found
            raise PropertyConstraintViolationError(
                f"{where}: {value} is out of range (integers here are {INT64_MIN} to {INT64_MAX})"
            )


class Router:
    """Handlers of charger-initiated actions, one per action."""

    def __init__(self, version: str = "1.6") -> None:
        # The OCPP version whose charger-initiated actions this router takes.
        self.version = version
        self._handlers: dict[str, Handler] = {}
        # The handler of an action, or None: the dict's own method, one call per message.
        self.get: Callable[[str], Handler | None] = self._handlers.get
        self.whole_call: frozenset[str] = frozenset()

    def on(
        self, action: str, *, whole_call: bool = False, wide_integers: bool = False
    ) -> Callable[[Handler], Handler]:
        """Decorator registering the handler of `action` (given the whole CALL with `whole_call`); a
        second handler for it is a programming error.

        The payload's integer fields are checked against the store's range first (see the module
        docstring), unless the handler takes the whole CALL (it checks what it reads) or `wide_integers`
        says it records values beyond the range itself.
        """

        def register(handler: Handler) -> Handler:
            if action in self._handlers:
                raise ValueError(f"{action} already has a handler: {self._handlers[action].__qualname__}")
            self._handlers[action] = handler
            if not whole_call and not wide_integers and integer_paths(action, self.version):
                self._handlers[action] = _checked(action, handler, self.version)
            if whole_call:
                self.whole_call |= {action}
            return handler

        return register

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._handlers))

    def __len__(self) -> int:
        return len(self._handlers)


def _checked(action: str, handler: Handler, version: str) -> Handler:
    """`handler` behind the integer check of `action` (one more call, only for actions with integers)."""

    def checked(session: Session, payload: object) -> Reply:
        check_integers(action, payload, version)
        return handler(session, payload)

    checked.__qualname__ = handler.__qualname__
    return checked
