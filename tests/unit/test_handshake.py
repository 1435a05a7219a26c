"""Charger ids and subprotocol checks of the websocket handshake."""

from __future__ import annotations

import pytest
from voltyard.gateway.handshake import (
    HandshakeRefusal,
    charger_id_from_path,
    choose_subprotocol,
    offers_subprotocol,
)


@pytest.mark.parametrize(
    ("path", "charger_id"),
    [("/ocpp/CP-1", "CP-1"), ("/CP-1", "CP-1"), ("/ocpp/a*b-c_d=e:f+g|h@i.j", "a*b-c_d=e:f+g|h@i.j"),
     ("/ocpp/CP%40X?x=1", "CP@X"), ("/" + "x" * 48, "x" * 48)],
)  # fmt: skip
def test_accepted_ids(path: str, charger_id: str) -> None:
    assert charger_id_from_path(path) == charger_id


@pytest.mark.parametrize("path", ["/", "/ocpp/", "/" + "x" * 49, "/CP 1", "/ocpp/CP%2F1", "/ocpp/a/b", "/é"])
def test_refused_ids(path: str) -> None:
    with pytest.raises(HandshakeRefusal) as refusal:
        charger_id_from_path(path)
    assert refusal.value.status == 404


def test_subprotocol_list() -> None:
    assert offers_subprotocol({"Sec-WebSocket-Protocol": "ocpp2.0.1, ocpp1.6"})
    assert not offers_subprotocol({"Sec-WebSocket-Protocol": "ocpp1.6j"})
    assert not offers_subprotocol({})


ALL = ("1.6", "2.0.1", "2.1")


@pytest.mark.parametrize(
    ("offered", "allowed", "chosen"),
    [
        ("ocpp2.0.1", ALL, "2.0.1"),
        ("ocpp1.6, ocpp2.0.1", ALL, "2.0.1"),
        ("ocpp2.1,ocpp1.6", ALL, "2.1"),
        ("ocpp1.6, ocpp2.0.1", ("1.6",), "1.6"),
        ("ocpp2.1, ocpp2.0.1", ("1.6", "2.0.1"), "2.0.1"),
    ],
)
def test_the_highest_offered_and_allowed_version(offered: str, allowed: tuple[str, ...], chosen: str) -> None:
    assert choose_subprotocol({"Sec-WebSocket-Protocol": offered}, allowed) == chosen


def test_no_acceptable_version_is_refused_naming_both_sides() -> None:
    with pytest.raises(HandshakeRefusal) as refused:
        choose_subprotocol({"Sec-WebSocket-Protocol": "ocpp2.0.1"}, ("1.6",))
    assert refused.value.status == 400
    assert "ocpp1.6" in refused.value.reason
    assert "it offered ocpp2.0.1" in refused.value.reason
    with pytest.raises(HandshakeRefusal, match="offered none"):
        choose_subprotocol({}, ALL)
