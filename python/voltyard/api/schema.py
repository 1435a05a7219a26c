"""OpenAPI 3.0 schemas generated from the API's view classes (api/views.py), so that the document cannot drift
from what the routes build.

A view is a TypedDict: its keys are the JSON keys, `NotRequired[...]` marks a key that may be absent,
`X | None` a nullable value, `Literal[...]` an enum, `list[X]` an array, another view a `$ref` to its own
component, `JsonObject` (a dict) any object. `Annotated[T, Extra(...)]` adds keywords to T's schema (a
format, a pattern, an enum not spelled as a Literal, a description).
"""

from __future__ import annotations

import types
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

__all__ = ["Extra", "Schema", "components", "ref", "schema_of"]

Schema = dict[str, Any]

_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}


class Extra:
    """JSON Schema keywords added to an annotated type's schema."""

    __slots__ = ("keywords",)

    def __init__(self, **keywords: object) -> None:
        self.keywords = keywords


def ref(view: type) -> Schema:
    return {"$ref": f"#/components/schemas/{view.__name__}"}


def schema_of(hint: object) -> Schema:  # noqa: PLR0911, PLR0912 (one case per kind of type)
    """The schema of one type hint of a view (a view itself is a `$ref`: see `components`)."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *metadata = get_args(hint)
        schema = schema_of(base)
        for extra in metadata:
            if isinstance(extra, Extra):
                schema |= extra.keywords
        return schema
    if origin in (Required, NotRequired):
        return schema_of(get_args(hint)[0])
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(members) != 1 or len(get_args(hint)) != 2:
            raise TypeError(f"{hint!r}: a view's value is one type, or one type or None")
        inner = schema_of(members[0])
        if "$ref" in inner:  # OpenAPI 3.0 does not let `nullable` sit beside a $ref
            return {"allOf": [inner], "nullable": True}
        return inner | {"nullable": True}
    if origin is Literal:
        values = list(get_args(hint))
        kinds = {_SCALARS[type(value)] for value in values}
        if len(kinds) != 1:
            raise TypeError(f"{hint!r}: a Literal of one JSON type")
        return {"type": kinds.pop(), "enum": values}
    if origin is list:
        (item,) = get_args(hint)
        items = schema_of(item)
        return {"type": "array", "items": items} if items else {"type": "array"}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if hint is Any:
        return {}
    if isinstance(hint, type) and is_typeddict(hint):
        return ref(hint)
    if isinstance(hint, type) and hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    raise TypeError(f"{hint!r}: no JSON schema for this type in a view")


def _object(view: type) -> Schema:
    hints = get_type_hints(view, include_extras=True)
    # Under `from __future__ import annotations` a TypedDict cannot see a NotRequired written as a string:
    # the evaluated hints can.
    required = sorted(
        key
        for key in view.__required_keys__  # type: ignore[attr-defined]
        if get_origin(hints[key]) is not NotRequired
    )
    return {"type": "object", "required": required,
            "properties": {key: schema_of(hint) for key, hint in hints.items()}}  # fmt: skip


def components(*views: type) -> dict[str, Schema]:
    """The component schemas of `views` and of every view they hold, by class name."""
    found: dict[str, Schema] = {}
    pending = list(views)
    while pending:
        view = pending.pop(0)
        if not is_typeddict(view):
            raise TypeError(f"{view!r} is not a view (a TypedDict)")
        if view.__name__ in found:
            continue
        found[view.__name__] = _object(view)
        pending += [hint for hint in _nested(get_type_hints(view, include_extras=True).values())]
    return found


def _nested(hints: object) -> list[type]:
    out: list[type] = []
    for hint in hints:  # type: ignore[attr-defined]
        if isinstance(hint, type) and is_typeddict(hint):
            out.append(hint)
        else:
            out += _nested(get_args(hint))
    return out
