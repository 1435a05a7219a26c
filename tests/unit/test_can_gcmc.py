"""GCMC_Command from the host: sent on change with a new GCMC_SEQ, refreshed every second, retried
until acknowledged, small budget rises held back, and nothing at all before the first command."""

from __future__ import annotations

from voltyard.can.frames import GcmcCommand, decode
from voltyard.can.gcmc import ALL_CONTACTORS, GcmcCommander, SlotCommand


def commander() -> tuple[GcmcCommander, list[GcmcCommand]]:
    sent: list[GcmcCommand] = []
    return GcmcCommander(5, sent.append, resend_s=1.0, retry_s=0.25, power_deadband_kw=0.5), sent


def test_nothing_is_sent_before_the_first_command() -> None:
    gcmc, sent = commander()
    gcmc.periodic(10.0)
    gcmc.force_off(10.0)
    assert sent == []


def test_a_change_goes_out_at_once_with_the_next_seq_and_every_contactor_driven() -> None:
    gcmc, sent = commander()
    assert gcmc.update(SlotCommand(gc=True, mn=(True, False), power_kw=42.37, current_a=200), 0.0)
    (frame,) = sent
    assert (frame.plc_id, frame.gcmc_seq, frame.gcmc_mask) == (5, 1, ALL_CONTACTORS)
    assert (frame.gc_cmd, frame.mc_cmd, frame.mn1_cmd, frame.mn2_cmd) == (True, False, True, False)
    assert (frame.pwr_limit_0p1kw, frame.cur_limit_0p1a) == (423, 2000)  # rounded down
    # It survives the codec (CRC and all) as the PLC will read it.
    again = decode(*frame.encode())
    assert isinstance(again, GcmcCommand)
    assert again.pwr_limit_0p1kw == 423
    assert not gcmc.update(SlotCommand(gc=True, mn=(True, False), power_kw=42.37, current_a=200), 0.05)
    assert len(sent) == 1
    gcmc.update(SlotCommand(gc=True, mn=(True, True), power_kw=42.37, current_a=200), 0.1)
    assert [f.gcmc_seq for f in sent] == [1, 2]


def test_small_rises_wait_but_every_fall_goes_out() -> None:
    gcmc, sent = commander()
    gcmc.update(SlotCommand(power_kw=40.0), 0.0)
    assert not gcmc.update(SlotCommand(power_kw=40.3), 0.1)  # within the deadband: the PLC keeps 40
    assert gcmc.command is not None
    assert gcmc.command.power_kw == 40.0
    assert gcmc.update(SlotCommand(power_kw=40.6), 0.2)
    assert gcmc.update(SlotCommand(power_kw=40.5), 0.3)  # a fall, however small
    assert [f.pwr_limit_0p1kw for f in sent] == [400, 406, 405]


def test_unacked_commands_are_retried_and_acked_ones_refreshed_every_second() -> None:
    gcmc, sent = commander()
    gcmc.update(SlotCommand(mc=True), 0.0)
    gcmc.periodic(0.2)
    assert len(sent) == 1
    gcmc.periodic(0.3)  # 0.25 s without LAST_GCMC_SEQ_APPLIED: again
    assert len(sent) == 2
    gcmc.on_status(last_gcmc_seq_applied=0)  # an older seq does not count
    gcmc.periodic(0.6)
    assert len(sent) == 3
    gcmc.on_status(last_gcmc_seq_applied=1)
    assert gcmc.acked
    gcmc.periodic(1.5)
    assert len(sent) == 3
    gcmc.periodic(1.6)  # a second after the last frame
    assert len(sent) == 4
    assert {f.gcmc_seq for f in sent} == {1}


def test_force_off_opens_everything_and_drops_the_budget() -> None:
    gcmc, sent = commander()
    gcmc.update(SlotCommand(gc=True, mc=True, cw=True, mn=(True, True), power_kw=80, current_a=200), 0.0)
    gcmc.force_off(1.0)
    frame = sent[-1]
    assert frame.gcmc_force_off
    assert not (frame.gc_cmd)
    assert not (frame.mc_cmd)
    assert not (frame.cw_cmd)
    assert not (frame.mn1_cmd)
    assert not (frame.mn2_cmd)
    assert (frame.pwr_limit_0p1kw, frame.cur_limit_0p1a) == (0, 0)


def test_limits_round_down_so_that_budgets_never_add_up_above_the_share() -> None:
    gcmc, sent = commander()
    gcmc.update(SlotCommand(power_kw=500 / 12, current_a=199.99), 0.0)
    assert (sent[-1].pwr_limit_0p1kw, sent[-1].cur_limit_0p1a) == (416, 1999)
    gcmc.update(SlotCommand(power_kw=0.1 * 3 * 100, current_a=200), 0.1)  # 30.000000000000004
    assert sent[-1].pwr_limit_0p1kw == 300
    gcmc.update(SlotCommand(power_kw=4.1 * 10 / 10 - 1e-12, current_a=200), 0.2)  # a hair under 4.1
    assert sent[-1].pwr_limit_0p1kw == 41
