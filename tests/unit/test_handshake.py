"""Charger ids and subprotocol checks of the websocket handshake."""

from __future__ import annotations

import pytest
from voltyard.gateway.handshake import HandshakeRefusal, charger_id_from_path, offers_subprotocol


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
