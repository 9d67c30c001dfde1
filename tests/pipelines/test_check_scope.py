"""Checks on what a run may have changed (pipelines/core/quality.py): the scope, its mark, the scoped SQL checks
and Great Expectations suites (in the worker process and in process)."""
import os

import dagster as dg
import duckdb
import pytest

from pipelines.core import quality
from pipelines.core.quality import NO_HOURS, WHOLE, Scope, check_scope, ge_check, mark_checked, sql_check
from pipelines.core.store import get_state, init_schema, set_state

HOUR = 3600


@pytest.fixture
def con():
    c = duckdb.connect()
    init_schema(c)
    yield c
    c.close()


def raw_log(con, block: int, ts: int, log_index: int = 0):
    con.execute("INSERT INTO raw_logs (block_number, block_timestamp, tx_index, log_index, block_hash, tx_hash, "
                "address, topic0, data) VALUES (?, ?, 0, ?, '0xb', '0xt', '0xa', '0x0', '0x')",
                [block, ts, log_index])


def test_no_mark_or_full_checks_whole_tables(con):
    assert check_scope(con, "replay", 500) == WHOLE  # never passed: everything
    set_state(con, "checked_to:replay", 400)
    assert check_scope(con, "replay", 500, full=True) == WHOLE


def checkpoint(con, block: int, last_ts: int):
    con.execute("INSERT INTO replay_checkpoints (cursor_block, cursor_tx, cursor_log, last_ts, events_applied, state) "
                "VALUES (?, 0, 0, ?, 0, '\\x00'::BLOB)", [block, last_ts])


def test_scope_starts_at_the_earlier_of_the_change_and_the_first_unchecked_block(con):
    checkpoint(con, 379, 9 * HOUR)
    checkpoint(con, 400, 10 * HOUR)
    checkpoint(con, 449, 12 * HOUR)
    set_state(con, "checked_to:replay", 400)
    s = check_scope(con, "replay", 450, hourly=True)  # a failed run left blocks 401..449 unchecked: they are in
    assert (s.from_block, s.from_ts) == (401, 10 * HOUR)  # the last hour of the checkpoint before block 401
    s = check_scope(con, "replay", 380, hourly=True)  # a reorg rewrote from 380
    assert (s.from_block, s.from_ts) == (380, 9 * HOUR)
    assert check_scope(con, "replay", 300, hourly=True) == WHOLE  # no checkpoint kept before it: whole tables
    s = check_scope(con, "raw_logs", None)  # not set for raw_logs: whole; set, no hourly rows in this step
    assert s == WHOLE
    set_state(con, "checked_to:raw_logs", 400)
    assert check_scope(con, "raw_logs", None).from_block == 401 and check_scope(con, "raw_logs", None).from_ts == NO_HOURS


def test_the_mark_moves_only_when_every_blocking_check_ran_and_passed(con):
    ok = dg.AssetCheckResult(passed=True)
    bad = dg.AssetCheckResult(passed=False)
    mark_checked(con, "replay", 10, [ok, bad], ran_all=True)
    assert get_state(con, "checked_to:replay") is None
    mark_checked(con, "replay", 10, [ok], ran_all=False)  # a selection left a blocking check out
    assert get_state(con, "checked_to:replay") is None
    mark_checked(con, "replay", 10, [ok, ok], ran_all=True)
    assert get_state(con, "checked_to:replay") == "10"


def test_scoped_sql_check_finds_violations_in_scope_only(con):
    for b in (100, 100, 200, 200, 300):  # a duplicate log at block 100 and one at 200
        raw_log(con, b, b)
    assert sql_check(con, "duplicate_logs").metadata["offending_rows"].value == 2
    assert sql_check(con, "duplicate_logs", Scope(150)).metadata["offending_rows"].value == 1
    assert sql_check(con, "duplicate_logs", Scope(250)).passed
    assert sql_check(con, "duplicate_logs", Scope(250)).metadata["scope"].value == "blocks >= 250"


def pair_hourly(con, ts: int, block: int):
    con.execute("INSERT INTO pair_hourly (instrument, expiry, ts, block_number, involved_fund) "
                "VALUES ('0xi', 1, ?, ?, 5)", [ts, block])


def order(con, placed: int, tick: int, status: str, closed: int | None = None, nonce: int = 1):
    con.execute("INSERT INTO orders (instrument, expiry, trader, tick, nonce, placed_block, placed_log_index, "
                "status, closed_block) VALUES ('0xi', 1, '0xt', ?, ?, ?, 0, ?, ?)",
                [tick, nonce, placed, status, closed])


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "in-process"])
def test_ge_suites_see_every_row_a_violation_needs(con, worker):
    if worker:
        quality.warm_up()
    try:
        # an hour row carries the block before the hour's first event: block 99 < scope 100, yet it is the
        # new hour's row and duplicates a row written at the same hour by an older run
        pair_hourly(con, 5 * HOUR, 50)
        pair_hourly(con, 5 * HOUR, 99)
        scope = Scope(100, 5 * HOUR)
        r = ge_check(con, "pair_hourly", scope)
        assert not r.passed and "expect_compound_columns_to_be_unique" in r.metadata["failed"].value
        assert r.metadata["rows"].value == 2 and "worker_error" not in r.metadata
        assert ge_check(con, "pair_hourly", Scope(100, 6 * HOUR)).metadata["rows"].value == 0  # none in scope
        # quiet hours: the replay's checkpoint saw hour 5, the first new event came at hour 9; hours 6-8 got their
        # rows with the checkpoint's block (99), below the scope's first block
        for h in (6, 7, 8):
            pair_hourly(con, h * HOUR, 99)
        pair_hourly(con, 8 * HOUR, 99)  # a duplicate in a quiet hour
        checkpoint(con, 99, 5 * HOUR)
        set_state(con, "checked_to:replay", 99)
        r = ge_check(con, "pair_hourly", check_scope(con, "replay", 100, hourly=True))
        assert not r.passed and r.metadata["rows"].value == 6  # hours 5 (two rows), 6, 7, 8 (two rows)
        # an order still open is rewritten by every run that fills it: in scope however old
        order(con, 10, 999_999, "OPEN")
        order(con, 11, 999_999, "FILLED", closed=20, nonce=2)
        r = ge_check(con, "orders", scope)
        assert not r.passed and r.metadata["rows"].value == 1 and "expect_column_values_to_be_between tick" in \
            r.metadata["failed"].value
        order(con, 150, 10, "CANCELLED", closed=160, nonce=3)
        assert ge_check(con, "orders", Scope(100, 0)).metadata["rows"].value == 2
        assert not ge_check(con, "orders", WHOLE).passed and ge_check(con, "orders", WHOLE).metadata["rows"].value == 3
    finally:
        quality.stop_worker()


def test_a_dead_worker_falls_back_to_validating_in_process(con):
    quality.warm_up()
    quality._worker.proc.kill()
    quality._worker.proc.wait()
    pair_hourly(con, HOUR, 1)
    r = ge_check(con, "pair_hourly")
    assert r.passed and r.metadata["rows"].value == 1 and "worker_error" in r.metadata
    assert quality._worker is None


def test_a_stuck_worker_is_given_up_on_and_the_suite_runs_in_process(con, monkeypatch):
    import signal
    quality.warm_up()
    w = quality._worker
    w._line(quality.START_TIMEOUT)  # imported and ready
    w.ready = True
    os.kill(w.proc.pid, signal.SIGSTOP)  # stuck: it will never answer
    monkeypatch.setattr(quality, "ANSWER_TIMEOUT", 0.5)
    pair_hourly(con, HOUR, 1)
    pair_hourly(con, HOUR, 1)
    r = ge_check(con, "pair_hourly")
    assert not r.passed and "did not answer within" in r.metadata["worker_error"].value
    assert quality._worker is None and w.proc.poll() is not None  # killed, not left behind
