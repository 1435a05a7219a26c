"""The OpenAPI schemas generated from the API's view classes (api/schema.py, api/views.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest
from voltyard.api.openapi import DOCUMENT, SCHEMAS
from voltyard.api.schema import Extra, components, schema_of
from voltyard.api.views import VIEWS


class Inner(TypedDict):
    name: str


class Outer(TypedDict):
    count: int
    ratio: float
    flag: bool
    note: str | None
    when: Annotated[str, Extra(format="date-time")] | None
    mode: Literal["on", "off"]
    inner: Inner
    maybe_inner: Inner | None
    inners: list[Inner]
    tags: list[str]
    data: dict[str, Any]
    anything: list[Any]
    later: NotRequired[int]


def test_a_view_becomes_an_object_with_its_keys_required_but_the_not_required_ones() -> None:
    schema = components(Outer)["Outer"]
    assert schema["type"] == "object"
    assert schema["required"] == sorted(set(Outer.__annotations__) - {"later"})
    assert schema["properties"] == {
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": {"type": "boolean"},
        "note": {"type": "string", "nullable": True},
        "when": {"type": "string", "format": "date-time", "nullable": True},
        "mode": {"type": "string", "enum": ["on", "off"]},
        "inner": {"$ref": "#/components/schemas/Inner"},
        "maybe_inner": {"allOf": [{"$ref": "#/components/schemas/Inner"}], "nullable": True},
        "inners": {"type": "array", "items": {"$ref": "#/components/schemas/Inner"}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "data": {"type": "object"},
        "anything": {"type": "array"},
        "later": {"type": "integer"},
    }


def test_the_views_a_view_holds_become_components_of_their_own() -> None:
    found = components(Outer)
    assert sorted(found) == ["Inner", "Outer"]
    assert found["Inner"] == {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
    }


def test_a_subclassed_view_has_its_base_keys_too() -> None:
    class Detail(Inner):
        extra: int

    assert components(Detail)["Detail"]["required"] == ["extra", "name"]


@pytest.mark.parametrize("hint", [int | str | None, tuple[int, int], set[str], Literal["a", 1]])
def test_a_type_without_a_json_schema_is_refused(hint: object) -> None:
    with pytest.raises(TypeError):
        schema_of(hint)


def test_a_class_that_is_not_a_view_is_refused() -> None:
    with pytest.raises(TypeError, match="not a view"):
        components(int)


def test_the_document_components_are_the_generated_ones() -> None:
    assert DOCUMENT["components"]["schemas"] is SCHEMAS
    assert components(*VIEWS) == SCHEMAS


def _json_schemas() -> list[tuple[str, str, str, str, dict[str, Any]]]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    if media == "application/json":
                        found.append((path, method, status, media, content["schema"]))
    return found


# The one JSON answer that is not a view: the OpenAPI document itself.
_NOT_VIEWS = {("/api/v1/openapi.json", "get")}


@pytest.mark.parametrize(("path", "method", "status", "media", "schema"), _json_schemas())
def test_every_json_answer_of_every_route_is_a_generated_view(
    path: str, method: str, status: str, media: str, schema: dict[str, Any]
) -> None:
    if (path, method) in _NOT_VIEWS:
        return
    assert set(schema) == {"$ref"}, f"{method.upper()} {path} {status}: {schema} is written by hand"
    name = schema["$ref"].removeprefix("#/components/schemas/")
    assert name in SCHEMAS, f"{method.upper()} {path} {status}: {name} is not a generated view"
    if status.startswith("2"):
        assert name != "Error"
    else:
        assert name == "Error"
