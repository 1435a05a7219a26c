"""OCPP 2.x TransactionEvents in the transactions service (voltyard.domain.transactions `event`): Started and
Ended are durable writes; an Updated of an open transaction with a seqNo above any stored or queued is new,
answered at once and stored as telemetry (its readings in the meter log, as 1.6 MeterValues'); anything it
cannot tell is new (a replay, an out-of-order seqNo, a transaction it has not seen, after a restart) is a
durable write again, which stores it once."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from voltyard._native import normalise_sampled_values
from voltyard.domain.transactions import ClockSkew, Transactions, _energy_and_power_2x
from voltyard.store.meter_log import meter_readings

from .fake_store import FakeStore, event_bus

NOW = "2026-01-01T10:00:00Z"


def _event(event_type: str, seq_no: int, energy: float | None = None, tx: str = "TX-1") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "eventType": event_type, "timestamp": NOW, "triggerReason": "MeterValuePeriodic", "seqNo": seq_no,
        "transactionInfo": {"transactionId": tx}, "evse": {"id": 1, "connectorId": 1},
    }  # fmt: skip
    if energy is not None:
        payload["meterValue"] = [{"timestamp": NOW, "sampledValue": [{"value": energy}]}]
    return payload


class Setup:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.transactions = Transactions(store, event_bus(store), ClockSkew(300.0))  # type: ignore[arg-type]

    async def event(self, payload: dict[str, Any]) -> tuple[int, bool]:
        """The transaction id, and whether the event was a durable write."""
        before = self.store.durable_writes
        stored = self.transactions.event("CP1", payload, 1.0)
        transaction_id = stored if isinstance(stored, int) else await stored
        return transaction_id, self.store.durable_writes > before

    def stored(self) -> tuple[list[int], list[float | None]]:
        """The seqNos stored and the readings stored, after a hand-over."""
        self.store.commit_telemetry()
        seq_nos = [row[0] for row in self.store.rows("SELECT seq_no FROM transaction_events ORDER BY seq_no")]
        return seq_nos, [reading.energy_wh for reading in meter_readings(self.store.conn, charger_id="CP1")]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    store = FakeStore(tmp_path / "v.db")
    yield Setup(store)
    store.close()


async def test_an_updated_in_order_is_answered_at_once_and_stored_with_the_telemetry(setup: Setup) -> None:
    transaction_id, durable = await setup.event(_event("Started", 0, 100.0))
    assert durable, "a Started must be on disk before its answer"
    stored = setup.transactions.event("CP1", _event("Updated", 1, 200.0), 1.0)
    assert stored == transaction_id, "an Updated in order must be answered without waiting for a commit"
    assert setup.store.durable_writes == 1
    assert setup.stored() == ([0, 1], [100.0, 200.0])
    assert setup.transactions.open_on("CP1") == [transaction_id]
    _, durable = await setup.event(_event("Ended", 2))
    assert durable, "an Ended must be on disk before its answer"
    assert setup.store.rows("SELECT meter_stop FROM transactions") == [(200,)], (
        "the Ended read the Updated's reading from the meter log"
    )
    assert setup.transactions.open_on("CP1") == []


async def test_a_replayed_or_out_of_order_updated_is_a_durable_write_stored_once(setup: Setup) -> None:
    await setup.event(_event("Started", 0, 100.0))
    for seq_no in (1, 2):
        assert not (await setup.event(_event("Updated", seq_no, 100.0 + seq_no)))[1]
    setup.store.commit_telemetry()  # the writer hands the telemetry over before every durable write
    _, durable = await setup.event(_event("Updated", 2, 102.0))
    assert durable, "a replay cannot be told from memory: the store decides"
    assert not (await setup.event(_event("Updated", 5, 105.0)))[1], "a gap is still new"
    _, durable = await setup.event(_event("Updated", 4, 104.0))
    assert durable, "an out-of-order seqNo goes to the store"
    seq_nos, readings = setup.stored()
    assert (seq_nos, sorted(readings)) == ([0, 1, 2, 4, 5], [100.0, 101.0, 102.0, 104.0, 105.0])


async def test_after_a_restart_a_resent_updated_is_stored_once(setup: Setup) -> None:
    await setup.event(_event("Started", 0, 100.0))
    await setup.event(_event("Updated", 1, 101.0))
    setup.store.commit_telemetry()
    restarted = Setup(setup.store)
    _, durable = await restarted.event(_event("Updated", 1, 101.0))
    assert durable, "a new process knows no seqNo: the store decides"
    assert not (await restarted.event(_event("Updated", 2, 102.0)))[1], "above what the store holds is new"
    assert restarted.stored() == ([0, 1, 2], [100.0, 101.0, 102.0])


async def test_an_event_of_an_unknown_or_ended_transaction_is_a_durable_write(setup: Setup) -> None:
    _, durable = await setup.event(_event("Updated", 3, 103.0, tx="TX-OFFLINE"))
    assert durable, "the first event of a transaction opens it on disk"
    assert not (await setup.event(_event("Updated", 4, 104.0, tx="TX-OFFLINE")))[1]
    await setup.event(_event("Ended", 5, tx="TX-OFFLINE"))
    _, durable = await setup.event(_event("Updated", 6, 106.0, tx="TX-OFFLINE"))
    assert durable, "an event after the Ended is not of an open transaction"
    assert setup.stored()[0] == [3, 4, 5, 6]


SAMPLES: list[list[dict[str, Any]]] = [
    [{"value": 1523417.0}],
    [{"value": 12.5, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}}],
    [{"value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}}],
    [{"value": 7200, "measurand": "Power.Active.Import"}],  # no unit: Wh, which is no power unit
    [{"value": 15.9, "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}}],
    [{"value": 100.0, "phase": "L1"}, {"value": 5.0, "unitOfMeasure": {"unit": "kWh", "multiplier": 3}}],
    [{"value": 1.0, "unitOfMeasure": {"multiplier": 400}}],  # beyond a float: no reading
    [{"value": 1.0, "unitOfMeasure": {"multiplier": 2**70}}],
    [{"value": 3.0, "unitOfMeasure": {"multiplier": -2}}, {"value": 4.0, "measurand": "Voltage"}],
    [{"value": 1.0}, {"value": 2.0}, {"value": 3.0, "measurand": "Power.Active.Import",
                                       "unitOfMeasure": {"unit": "W", "multiplier": 1}}],
]  # fmt: skip


def _as_16(sampled: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same samples in the 1.6 shape (value a string, unit beside it), for the native normaliser."""
    samples = []
    for item in sampled:
        unit = item.get("unitOfMeasure", {})
        try:
            value = item["value"] * 10.0 ** unit.get("multiplier", 0)
        except OverflowError:
            continue
        if not math.isfinite(value):
            continue
        sample = {"value": str(value), "unit": unit.get("unit", "Wh")}
        sample |= {key: item[key] for key in ("measurand", "phase") if key in item}
        samples.append(sample)
    return samples


@pytest.mark.parametrize("sampled", SAMPLES)
def test_2x_readings_follow_the_native_normaliser_rules(sampled: list[dict[str, Any]]) -> None:
    assert _energy_and_power_2x(sampled) == normalise_sampled_values(_as_16(sampled))
