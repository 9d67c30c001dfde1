"""Incremental marts (pipelines/marts/assets.py, build_marts): after new blocks, a reorg of the tail with a
different tail, or a deep reorg of an older block, the incrementally maintained marts equal a full rebuild of every
mart on a copy of the same warehouse, row for row with exact values; a changed model SQL, an instrument's new quote
type, a missing table or a warehouse with no record of its builds rebuild in full.

The warehouse is filled without a node: a simulated devnet history (four days, a block every 20 minutes) encoded
as the chain's logs and decoded by the pipeline's decoder, then replayed by run_replay, as the replay asset does.
DuckDB runs on one thread: a sum of floats depends on the order it adds in, which is otherwise the threads'."""
import dataclasses

import duckdb
import polars as pl
import pytest

from devnet.chain_writer import encode_log
from devnet.simulator import GATE_ADDR, QUOTES, Simulator, Size, numbered_events
from models.events import spec_of
from pipelines.core.config import load_settings
from pipelines.core.store import event_columns, get_state, init_schema, insert_frame, set_state
from pipelines.ingest.decode import RAW_COLUMNS, decode_frame
from pipelines.ingest.ingest import _discover, delete_from
from pipelines.marts.assets import GRAPH, build_marts
from pipelines.marts.mart_graph import MartGraph
from pipelines.state.replay_run import run_replay

INCREMENTAL = [m.name for m in GRAPH.models if m.incremental]


@pytest.fixture(scope="module")
def history():
    sim = Simulator(4, "small")
    sim.size = Size(blocks=300, block_seconds=1200, actions_per_block=3, actions_per_tx=1)
    return numbered_events(sim.run())


@pytest.fixture(scope="module")
def settings():
    return dataclasses.replace(load_settings(env={}), quote_decimals=QUOTES)


def _land(con, events) -> None:
    """What an ingest run writes for these events' blocks: decoded events, new instruments, the cursors."""
    rows = []
    for e in events:
        topics, data = encode_log(spec_of(e), e)
        t = ["0x" + x.hex() for x in topics] + [None] * (4 - len(topics))
        rows.append((e["block_number"], e["block_timestamp"], e["tx_index"], e["log_index"], "0x" + "00" * 32,
                     e["address"], "0x" + "00" * 32, *t, "0x" + data.hex()))
    frame = pl.DataFrame(rows, schema=RAW_COLUMNS, orient="row")
    cols = event_columns()
    tables, _ = decode_frame(frame)
    for t, f in tables.items():
        insert_frame(con, t, f, cols[t], replace=False)
    _discover(con, frame, GATE_ADDR)
    last = max(e["block_number"] for e in events)
    set_state(con, "decoded_to", last)
    set_state(con, "covered_to", last)


def _upto(history, block):
    return [e for e in history if e["block_number"] <= block]


def _between(history, lo, hi):
    return [e for e in history if lo < e["block_number"] <= hi]


def _warehouse(history, settings, upto):
    con = duckdb.connect()
    con.execute("SET threads = 1")
    init_schema(con)
    con.execute("CREATE TABLE IF NOT EXISTS warehouse_identity (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO warehouse_identity VALUES ('chain', 'devnet'), ('chain_id', '31337')")
    _land(con, _upto(history, upto))
    run_replay(con, settings)
    return con


def _marts(con) -> dict[str, list[str]]:
    return {m.name: sorted(map(repr, con.execute(f"SELECT * FROM {m.name}").fetchall())) for m in GRAPH.models}


def _full_rebuild(con) -> dict[str, list[str]]:
    """Every mart rebuilt in full on a copy of the warehouse (the copy's marts as they were are replaced)."""
    con.execute("ATTACH ':memory:' AS ref")
    try:
        con.execute("COPY FROM DATABASE memory TO ref")
        con.execute("USE ref")
        report = {}
        build_marts(con, full=True, report=report)
        assert all(r["mode"] in ("view", "full: full rebuild asked") for r in report.values())
        return _marts(con)
    finally:
        con.execute("USE memory")
        con.execute("DETACH ref")


def _build(con, **kw) -> dict[str, str]:
    report = {}
    build_marts(con, report=report, **kw)
    return {n: r["mode"] for n, r in report.items()}


def _assert_equal_to_full(con):
    inc, full = _marts(con), _full_rebuild(con)
    for name in inc:
        assert inc[name] == full[name], name
    assert sum(map(len, inc.values())) > 1000


def _days(con, table="mart_volume_daily"):
    return con.execute(f"SELECT count(DISTINCT day) FROM {table}").fetchall()[0][0]


def test_new_blocks_then_a_reorg_with_another_tail_then_a_deep_reorg_equal_a_full_rebuild(history, settings):
    last = history[-1]["block_number"]
    c0, c1, c2 = last // 4, last * 2 // 3, last * 5 // 6
    con = _warehouse(history, settings, c0)  # a replay checkpoint on the first day
    _land(con, _between(history, c0, c1))
    run_replay(con, settings)
    modes = _build(con)
    assert all(modes[n].startswith("full: no earlier build") for n in INCREMENTAL)
    assert _days(con) >= 2
    assert _build(con)["fact_trades"] == "unchanged"  # nothing new: nothing rebuilt

    # new blocks: the incremental tables rebuild from the watermark's hour or day
    _land(con, _between(history, c1, c2))
    run_replay(con, settings)
    assert int(get_state(con, "marts_dirty_from")) == c1 + 1
    modes = _build(con)
    assert get_state(con, "marts_dirty_from") is None  # taken by the build
    assert all(modes[n].startswith("incremental from") for n in INCREMENTAL), modes
    assert modes["mart_replay_drift_daily"] == "full: not incremental"
    _assert_equal_to_full(con)

    # a reorg: the tail from `fork` is deleted and another lands (the same logs 40 minutes later)
    fork = (c1 + c2) // 2
    delete_from(con, fork)
    other = [{**e, "block_timestamp": e["block_timestamp"] + 2400} for e in _between(history, fork - 1, last)]
    _land(con, other)
    run_replay(con, settings)
    modes = _build(con)
    assert all(modes[n].startswith("incremental from") for n in INCREMENTAL), modes
    assert int(modes["fact_trades"].split("(block ")[1].rstrip(")")) < fork
    _assert_equal_to_full(con)

    # a late change to an older block: a reorg back to the second day, the same logs landing again
    old = c0 + 10
    before = _marts(con)
    delete_from(con, old)
    _land(con, sorted(_between(history, old - 1, fork - 1) + other, key=lambda e: e["block_number"]))
    run_replay(con, settings)
    modes = _build(con)
    assert all(modes[n].startswith("incremental from") for n in INCREMENTAL), modes
    assert int(modes["fact_trades"].split("(block ")[1].rstrip(")")) == c0 + 1  # the checkpoint before it
    _assert_equal_to_full(con)
    assert _marts(con) == before  # the same logs again: the same marts


def test_a_changed_model_its_readers_and_a_new_quote_type_rebuild_in_full(history, settings):
    last = history[-1]["block_number"]
    con = _warehouse(history, settings, last * 3 // 4)
    _build(con)
    _land(con, _between(history, last * 3 // 4, last * 7 // 8))
    run_replay(con, settings)
    # mart_volume_daily's SQL changes (a comment is enough): it and what reads it are rebuilt in full
    changed = [dataclasses.replace(m, sql=m.sql.replace("GROUP BY ALL", "GROUP BY ALL -- v2"))
               if m.name == "mart_volume_daily" else m for m in GRAPH.models]
    modes = _build(con, graph=MartGraph(changed, GRAPH.setup, GRAPH.sources))
    readers = {"mart_volume_daily", "mart_volume_daily_by_quote", "mart_instrument_share_daily"}
    for n in INCREMENTAL:
        assert modes[n].startswith("full: its SQL" if n in readers else "incremental from"), (n, modes[n])
    _assert_equal_to_full(con)
    # and back: the file's SQL is a change again
    assert _build(con)["mart_volume_daily"].startswith("full: its SQL")

    # an instrument's quote type changes (a new UpdateParam): prices of every hour may change, all in full
    _land(con, _between(history, last * 7 // 8, last))
    run_replay(con, settings)
    addr = con.execute("SELECT instrument FROM dim_instruments WHERE quote_type = 1 ORDER BY instrument LIMIT 1"
                       ).fetchall()[0][0]
    con.execute("INSERT INTO events_update_param (block_number, tx_index, log_index, block_timestamp, address, "
                "param_qtype) VALUES (?, 99, 999, ?, ?, 2)", [last, history[-1]["block_timestamp"], addr])
    modes = _build(con)
    assert all(modes[n].startswith("full: its SQL, an upstream model's or an instrument changed")
               for n in INCREMENTAL), modes
    _assert_equal_to_full(con)


def test_no_record_of_earlier_builds_a_missing_table_or_watermark_rebuild_in_full(history, settings):
    last = history[-1]["block_number"]
    con = _warehouse(history, settings, last // 2)
    build_marts(con)
    _land(con, _between(history, last // 2, last * 2 // 3))
    run_replay(con, settings)
    con.execute("DROP TABLE mart_fees_daily")
    modes = _build(con, names=["fact_trades", "mart_fees_daily", "mart_volume_hourly"])
    assert modes == {"fact_trades": modes["fact_trades"], "mart_fees_daily": "full: table missing",
                     "mart_volume_hourly": modes["mart_volume_hourly"]}
    assert modes["fact_trades"].startswith("incremental from")
    # the models not built keep the watermark for their next build
    assert _build(con)["mart_volume_daily"].startswith("incremental from")
    _assert_equal_to_full(con)

    # a warehouse from before incremental marts: no mart_builds (new blocks and the replay's watermark or not)
    _land(con, _between(history, last * 2 // 3, last))
    run_replay(con, settings)
    con.execute("DROP TABLE mart_builds")
    modes = _build(con)
    assert all(modes[n] == "full: no earlier build recorded" for n in INCREMENTAL), modes
    _assert_equal_to_full(con)

    # no checkpoint before the watermark (the replay rebuilt from genesis): in full
    run_replay(con, settings, full=True)
    assert int(get_state(con, "marts_dirty_from")) == 0
    modes = _build(con)
    assert modes["mart_quote_prices_hourly"] == "full: no replay checkpoint before block 0"
    assert all(modes[n] in ("full: no replay checkpoint before block 0", "full: a table it reads was rebuilt in full")
               for n in INCREMENTAL), modes
    _assert_equal_to_full(con)


def test_new_blocks_the_replay_has_not_seen_yet_are_taken_too(history, settings):
    """A marts build with no replay since new blocks landed (a selection of the marts alone) still rebuilds them."""
    last = history[-1]["block_number"]
    con = _warehouse(history, settings, last // 2)
    build_marts(con)
    _land(con, _between(history, last // 2, last * 3 // 4))
    assert get_state(con, "marts_dirty_from") is None
    modes = _build(con)
    assert modes["fact_trades"] == f"incremental from {modes['fact_trades'].split('from ')[1]}"
    assert f"(block {last // 2 + 1})" in modes["fact_trades"]
    _assert_equal_to_full(con)
