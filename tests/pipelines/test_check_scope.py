"""Checks on what a run may have changed (pipelines/core/quality.py): the scope, its mark, the scoped SQL checks
and Great Expectations suites (in the worker process and in process)."""
import dagster as dg
import duckdb
import pytest

from pipelines.core import quality
from pipelines.core.quality import WHOLE, Scope, check_scope, ge_check, mark_checked, sql_check
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


def test_scope_starts_at_the_earlier_of_the_change_and_the_first_unchecked_block(con):
    raw_log(con, 390, 10 * HOUR + 5)
    raw_log(con, 401, 11 * HOUR + 20)
    raw_log(con, 450, 12 * HOUR + 7)
    set_state(con, "checked_to:replay", 400)
    s = check_scope(con, "replay", 450)  # a failed run left blocks 401..449 unchecked: they are in
    assert (s.from_block, s.from_ts) == (401, 11 * HOUR)  # the hour of the first log at or after it
    s = check_scope(con, "replay", 380)  # a reorg rewrote from 380
    assert (s.from_block, s.from_ts) == (380, 10 * HOUR)
    s = check_scope(con, "replay", None)  # nothing changed, nothing left: no log after the mark
    assert s.from_block == 401
    set_state(con, "checked_to:replay", 450)
    assert check_scope(con, "replay", None).from_ts > 2 ** 60  # no new hour either


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
    assert sql_check(con, "duplicate_logs", Scope(150, 0)).metadata["offending_rows"].value == 1
    assert sql_check(con, "duplicate_logs", Scope(250, 0)).passed
    assert sql_check(con, "duplicate_logs", Scope(250, 0)).metadata["scope"].value == "blocks >= 250"


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
