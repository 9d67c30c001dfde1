"""The divergence policy end to end without a node: a replay over a simulated history with one reported value
altered, written to DuckDB as the replay asset writes it, then the checks, the drift mart and the dashboard
panels; and the migration of a warehouse written before the policy."""
from datetime import datetime, timezone

import duckdb
import pytest

from devnet.simulator import QUOTES, Simulator, numbered_events
from pipelines.core.store import init_schema
from pipelines.dashboard.dashboard import panels
from pipelines.marts.assets import build_marts
from pipelines.state.assets import rounding_drift, structural_divergences
from pipelines.state.replay_run import _write, classify_legacy_divergences
from pipelines.state.state import StateBuilder
from models.replay import Replayer


@pytest.fixture(scope="module")
def history():
    return numbered_events(Simulator(4, "small").run())


def _replayed(events) -> duckdb.DuckDBPyConnection:
    """The replay asset's writes (state rows and replay_divergences) for `events`, then the marts."""
    r = Replayer(quote_decimals=QUOTES)
    b = StateBuilder(r)
    r.apply(events)
    con = duckdb.connect()
    init_schema(con)
    _write(con, b, r)
    build_marts(con)
    return con


def _alter_trade(history, field, delta, nth=0):
    events = [dict(e) for e in history]
    trade = [e for e in events[200:] if e["event"] == "Trade"][nth]
    trade[field] += delta
    return events, trade


def _panel(con, name):
    p = next(p for p in panels() if p["name"] == name)
    cur = con.execute(p["sql"])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _day(ts):
    return datetime.fromtimestamp(ts, timezone.utc).date()


def test_a_clean_replay_passes_both_checks_and_its_drift_panel_is_all_zero(history):
    con = _replayed([dict(e) for e in history])
    assert con.execute("SELECT count(*) FROM replay_divergences").fetchall() == [(0,)]
    assert structural_divergences(con).passed and rounding_drift(con).passed
    assert con.execute("SELECT count(*) FROM mart_replay_drift_daily").fetchall() == [(0,)]
    days = _panel(con, "12_replay_drift")
    assert days and all(d["rounding_drift"] == 0 and d["structural"] == 0 for d in days)  # zero-filled, not empty
    (health,) = _panel(con, "11_replay_health")
    assert health["structural"] == health["rounding_drift"] == 0


@pytest.mark.parametrize("delta", [1, -2])
def test_a_trade_off_by_a_wei_or_two_is_rounding_drift_not_a_failure(history, delta):
    events, trade = _alter_trade(history, "entry_notional", delta)
    con = _replayed(events)
    row = con.execute("SELECT block_number, log_index, event, field, class, diff_wei, abs_diff_wei, rel_diff, ts, "
                      "expected, actual FROM replay_divergences").fetchall()
    assert len(row) == 1
    block, log, event, fld, cls, diff, absdiff, rel, ts, expected, actual = row[0]
    assert (block, log, event, fld) == (trade["block_number"], trade["log_index"], "Trade", "entry_notional")
    assert (cls, diff, absdiff, ts) == ("rounding", str(delta), str(abs(delta)), trade["block_timestamp"])
    assert actual == str(trade["entry_notional"]) and int(actual) - int(expected) == delta
    assert rel == abs(delta) / max(int(expected), int(actual))
    # the blocking check passes, and says how much drift it let through
    check = structural_divergences(con)
    assert check.passed and check.metadata["rounding_drift"].value == 1 and check.metadata["structural"].value == 0
    # the non-blocking check warns with the counts per event and field
    warn = rounding_drift(con)
    assert not warn.passed and warn.severity.value == "WARN"
    assert warn.metadata["rounding_drift"].value == 1 and warn.metadata["max_abs_wei"].value == abs(delta)
    assert "| Trade | entry_notional | 1 |" in warn.metadata["by_field"].value
    # the drift mart counts it on its day
    mart = con.execute("SELECT day, instrument, event, field, divergences, chain_higher, chain_lower, max_abs_wei, "
                       "sum_abs_wei, net_wei FROM mart_replay_drift_daily").fetchall()
    assert mart == [(_day(trade["block_timestamp"]), trade["address"], "Trade", "entry_notional", 1,
                     int(delta > 0), int(delta < 0), abs(delta), abs(delta), delta)]
    # and the dashboard shows it
    (health,) = _panel(con, "11_replay_health")
    assert (health["structural"], health["rounding_drift"], health["rounding_max_abs_wei"]) == (0, 1, abs(delta))
    day = next(d for d in _panel(con, "12_replay_drift") if d["day"] == _day(trade["block_timestamp"]))
    assert day["rounding_drift"] == 1 and day["structural"] == 0 and "Trade.entry_notional" in day["fields"]


def test_drift_in_several_trades_adds_up_per_field(history):
    events = [dict(e) for e in history]
    trades = [e for e in events[200:] if e["event"] == "Trade"][:3]
    for t, d in zip(trades, (1, 3, -4)):
        t["entry_notional"] += d
    con = _replayed(events)
    assert structural_divergences(con).passed
    got = con.execute("SELECT sum(divergences), max(max_abs_wei), sum(sum_abs_wei), sum(net_wei), "
                      "sum(chain_higher), sum(chain_lower) FROM mart_replay_drift_daily "
                      "WHERE event = 'Trade' AND field = 'entry_notional'").fetchall()
    assert got == [(3, 4, 8, 0, 2, 1)]


@pytest.mark.parametrize("delta", [5, 10**15, -(10**20)])
def test_a_trade_off_beyond_the_tolerance_fails_the_blocking_check(history, delta):
    events, trade = _alter_trade(history, "entry_notional", delta)
    con = _replayed(events)
    rows = con.execute("SELECT class, diff_wei, reason FROM replay_divergences").fetchall()
    assert rows == [("structural", str(delta), "beyond 4 wei")]
    check = structural_divergences(con)
    assert not check.passed and check.metadata["structural"].value == 1
    assert "| Trade | entry_notional | beyond 4 wei | 1 |" in check.metadata["by_field"].value
    assert rounding_drift(con).passed  # nothing counted as drift
    assert con.execute("SELECT count(*) FROM mart_replay_drift_daily").fetchall() == [(0,)]
    (health,) = _panel(con, "11_replay_health")
    assert (health["structural"], health["rounding_drift"]) == (1, 0)


def test_a_removed_event_fails_the_blocking_check(history):
    events = [dict(e) for e in history]
    trade = [e for e in events[200:] if e["event"] == "Trade"][0]
    upd = next(e for e in events if e["event"] == "UpdatePosition" and e["block_number"] == trade["block_number"]
               and e["tx_index"] == trade["tx_index"])
    events.remove(upd)
    con = _replayed(events)
    rows = con.execute("SELECT field, expected, actual, class, diff_wei FROM replay_divergences").fetchall()
    assert ("*", "UpdatePosition", "not emitted", "structural", None) in rows
    assert all(r[3] == "structural" for r in rows)
    assert not structural_divergences(con).passed


# --- migration ---------------------------------------------------------------------------------------------------
OLD = """CREATE TABLE replay_divergences (
    block_number BIGINT NOT NULL, tx_index BIGINT, log_index BIGINT, instrument VARCHAR, event VARCHAR,
    field VARCHAR, expected VARCHAR, actual VARCHAR
)"""


def test_an_old_warehouse_gets_the_columns_and_its_rows_get_classes():
    con = duckdb.connect()
    con.execute(OLD)
    con.execute("INSERT INTO replay_divergences VALUES (10, 0, 3, '0xi', 'Trade', 'entry_notional', '1000', '1002'),"
                " (11, 0, 1, '0xi', 'Trade', 'entry_notional', '1000', '2000'),"
                " (12, 1, 0, '0xi', 'Fill', '*', 'Fill', 'not emitted')")
    init_schema(con)
    init_schema(con)  # idempotent: every writer opens with it
    cols = [r[0] for r in con.execute("DESCRIBE replay_divergences").fetchall()]
    assert cols == ["block_number", "tx_index", "log_index", "instrument", "event", "field", "expected", "actual",
                    "ts", "class", "reason", "diff_wei", "abs_diff_wei", "rel_diff"]
    # before the replay classifies them, unclassified rows count as structural: the check stays safe
    assert not structural_divergences(con).passed
    assert structural_divergences(con).metadata["structural"].value == 3
    con.execute("INSERT INTO raw_logs (block_number, block_timestamp, tx_index, log_index, tx_hash, address, "
                "block_hash, data) VALUES (10, 1780000000, 0, 3, '0x', '0xi', '0xb', '0x')")
    assert classify_legacy_divergences(con) == 3
    assert classify_legacy_divergences(con) == 0  # only rows without a class
    got = con.execute("SELECT block_number, ts, class, diff_wei, abs_diff_wei, rel_diff FROM replay_divergences "
                      "ORDER BY block_number").fetchall()
    assert got == [(10, 1780000000, "rounding", "2", "2", 2 / 1002), (11, None, "structural", "1000", "1000", 0.5),
                   (12, None, "structural", None, None, None)]
    check = structural_divergences(con)
    assert not check.passed and check.metadata["structural"].value == 2
    assert rounding_drift(con).metadata["rounding_drift"].value == 1


def test_a_fresh_warehouse_has_the_same_columns_as_a_migrated_one():
    fresh = duckdb.connect()
    init_schema(fresh)
    old = duckdb.connect()
    old.execute(OLD)
    init_schema(old)
    assert fresh.execute("DESCRIBE replay_divergences").fetchall() == old.execute("DESCRIBE replay_divergences"
                                                                                  ).fetchall()


def test_the_replay_run_classifies_an_old_warehouses_rows(settings):
    from pipelines.state.replay_run import run_replay
    con = duckdb.connect()
    con.execute(OLD)
    con.execute("INSERT INTO replay_divergences VALUES (10, 0, 3, '0xi', 'Trade', 'fee', '1000', '999')")
    init_schema(con)
    run_replay(con, settings)  # nothing decoded yet: it only migrates
    assert con.execute("SELECT class, diff_wei FROM replay_divergences").fetchall() == [("rounding", "-1")]
    assert structural_divergences(con).passed
