"""The replay asset on the small devnet: checks, incremental runs, reorg rewind."""
import dataclasses
import os

import dagster as dg
import duckdb
import pytest

from pipelines.core.store import writer
from pipelines.definitions import defs
from pipelines.state.replay_run import run_replay

from .test_ingest_anvil import ingest

pytestmark = pytest.mark.anvil
STATE = ("amm_snapshots", "pearl_snapshots", "lp_ranges", "range_history", "orders", "positions", "fills",
         "funding_index_series", "replay_divergences")


def state_dump(path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(map(repr, con.sql(f"SELECT * FROM {t}").fetchall())) for t in STATE}
    finally:
        con.close()


@pytest.mark.parametrize("delta, blocked", [(10**15, True), (1, False)])
def test_a_corrupted_event_fails_the_blocking_divergence_check_unless_it_is_rounding(tmp_path, monkeypatch,
                                                                                      small_history, delta, blocked):
    """A Trade's entryNotional off by 1e15 wei is structural: the blocking check fails and the marts do not run.
    Off by 1 wei it is rounding drift: the blocking check passes, the drift check warns, the marts run and
    mart_replay_drift_daily counts it."""
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "c.duckdb"))
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    con = duckdb.connect(os.environ["OYSTER_DUCKDB_PATH"])
    block, log = con.execute("SELECT block_number, log_index FROM events_trade ORDER BY block_number LIMIT 1 "
                             "OFFSET 40").fetchall()[0]
    con.execute("UPDATE events_trade SET entry_notional = (entry_notional::HUGEINT + ?)::VARCHAR "
                "WHERE block_number = ? AND log_index = ?", [delta, block, log])
    con.close()
    from pipelines.chain.resources import ChainSource
    from pipelines.core.resources import OysterConfig, Warehouse
    from pipelines.marts.assets import marts
    from pipelines.state.assets import replay
    oyster = OysterConfig()
    result = dg.materialize([replay, marts], raise_on_error=False,  # the replay's checks run in its step
                            resources={"oyster": oyster, "warehouse": Warehouse(config=oyster),
                                       "chain": ChainSource(config=oyster)},
                            run_config={"ops": {"replay": {"config": {"full_rebuild": True}}}})
    checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert checks["replay_has_no_divergences"].passed is not blocked
    assert checks["replay_rounding_drift"].passed is blocked  # warns on the drift it let through
    assert checks["replay_rounding_drift"].metadata["rounding_drift"].value == (0 if blocked else 1)
    assert bool(result.asset_materializations_for_node("marts")) is not blocked  # a structural one stops them
    con = duckdb.connect(os.environ["OYSTER_DUCKDB_PATH"], read_only=True)
    rows = con.execute("SELECT block_number, log_index, event, field, class, diff_wei FROM replay_divergences"
                       ).fetchall()
    drift = None if blocked else con.execute("SELECT event, field, divergences, max_abs_wei "
                                             "FROM mart_replay_drift_daily").fetchall()
    con.close()
    assert (block, log, "Trade", "entry_notional", "structural" if blocked else "rounding", str(delta)) in rows
    if not blocked:
        assert rows == [(block, log, "Trade", "entry_notional", "rounding", "1")]
        assert drift == [("Trade", "entry_notional", 1, 1)]


def test_incremental_runs_equal_a_full_rebuild(node, settings, tmp_path):
    with writer(settings.duckdb_path) as con:
        pass
    for upto in (60, 130, 200, None):  # four scheduled runs as the chain grows
        ingest(settings, node.url, to_block=upto)
        with writer(settings.duckdb_path) as con:
            r = run_replay(con, settings)
            assert r.divergences == 0
    incremental = state_dump(settings.duckdb_path)
    with writer(settings.duckdb_path) as con:
        run_replay(con, settings, full=True)
        assert con.execute("SELECT count(*) FROM replay_checkpoints").fetchall()[0][0] == 1
    assert state_dump(settings.duckdb_path) == incremental
    assert all(incremental[t] for t in STATE if t != "replay_divergences")


def test_a_checkpoint_of_an_older_model_is_rebuilt_not_resumed(node, settings):
    """After an upgrade that changes a rule, resuming from an old checkpoint would mix two rule sets: the run
    rebuilds from genesis instead, and ends equal to a full rebuild."""
    import pickle
    import zlib
    ingest(settings, node.url, to_block=120)
    with writer(settings.duckdb_path) as con:
        run_replay(con, settings)
        # the newest checkpoint as an older model wrote it (no version field)
        block, blob = con.execute("SELECT cursor_block, state FROM replay_checkpoints ORDER BY cursor_block DESC "
                                  "LIMIT 1").fetchall()[0]
        state = pickle.loads(zlib.decompress(bytes(blob)))
        del state.__dict__["model_version"]
        state.instruments.clear()  # what an old model held is not to be trusted: resuming from it would diverge
        con.execute("UPDATE replay_checkpoints SET state = ? WHERE cursor_block = ?",
                    [zlib.compress(pickle.dumps(state)), block])
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        r = run_replay(con, settings)
        assert r.divergences == 0 and r.from_block == 0
    resumed = state_dump(settings.duckdb_path)
    with writer(settings.duckdb_path) as con:
        run_replay(con, settings, full=True)
    assert state_dump(settings.duckdb_path) == resumed


def test_a_reorg_rewinds_the_replay(node, settings, tmp_path):
    from devnet.chain_writer import ChainWriter
    from .test_ingest_anvil import _deposit_block
    from devnet.simulator import Simulator  # noqa: F401  (the history's own instruments)
    w = ChainWriter(node.url)
    node.call("evm_setAutomine", [False])
    head = int(node.call("eth_blockNumber"), 16)
    ts = int(node.call("eth_getBlockByNumber", [hex(head), False])["timestamp"], 16)
    snap = node.call("evm_snapshot")
    for i in range(4):
        _deposit_block(w, ts + 3600 * (i + 1), 1, salt=0xC0 + i)  # hours pass: hourly snapshots are taken
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        run_replay(con, settings)
    node.call("evm_revert", [snap])
    node.call("anvil_dropAllTransactions")
    w.nonce = None
    for i in range(5):
        _deposit_block(w, ts + 1800 * (i + 1), 1, salt=0xD0 + i)
    r = ingest(settings, node.url)
    assert r.reorg_from in (head, head + 1)
    with writer(settings.duckdb_path) as con:
        rr = run_replay(con, settings)
        assert rr.restored_from <= head
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    with writer(clean.duckdb_path) as con:
        run_replay(con, clean)
    assert state_dump(settings.duckdb_path) == state_dump(clean.duckdb_path)


def test_observer_comparison_catches_a_wrong_replay(node, settings):
    """The devnet's Observer answers from the simulator's true state; a replay that is off by one wei differs."""
    from devnet.observer import OBSERVER_ADDR
    from models.replay import Replayer
    from pipelines.chain.rpc import JsonRpcClient
    from pipelines.state.observer import Observer, compare
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        run_replay(con, settings)
        block, blob = con.execute("SELECT cursor_block, state FROM replay_checkpoints ORDER BY 1 DESC LIMIT 1"
                                  ).fetchall()[0]
    state = Replayer.from_checkpoint(bytes(blob)).state
    obs = Observer(JsonRpcClient(node.url), OBSERVER_ADDR)
    diffs, compared = compare(state, obs, block)
    assert diffs == [] and compared > 500
    inst, pair = next((i, p) for _, i in sorted(state.instruments.items()) for p in i.pairs.values()
                      if p.amm.status == 1)
    pair.amm.fee_index += 1
    tick = next(t for t, p in pair.pearls.items() if p.initialised)
    pair.pearls[tick].liquidity_net -= 1
    diffs, _ = compare(state, obs, block)
    assert {(d[2], d[3]) for d in diffs} == {("amm", "fee_index"), (f"pearl {tick}", "liquidity_net")}
