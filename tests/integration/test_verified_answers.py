"""Node answers are checked, not trusted (issue 12): every wrong answer the fault proxy can make in front of a
real anvil either ends in the clean run's tables or fails loudly with nothing of it written; a node behind the
stored head moves nothing; reorgs are repaired from their real fork point at any depth, and the replay's state
tables hold no duplicates after the repair; `verify` finds and repairs a stored range that differs from the node.
"""
import dataclasses

import pytest

from devnet.chain_writer import ChainWriter
from devnet.simulator import GATE_ADDR, USDC
from pipelines.chain.rpc import BadAnswer, JsonRpcClient, NodeBehind
from pipelines.chain.sources import RpcLogSource
from pipelines.core.store import writer
from pipelines.ingest.ingest import ReorgTooDeep, land
from pipelines.ingest.verify import verify_range
from pipelines.state.replay_run import run_replay

from .fault_proxy import ANSWER_FAULTS, FaultProxy
from .test_ingest_anvil import dump, ingest

pytestmark = pytest.mark.anvil
# faults a run may absorb (the answer holds every right log, plus copies it drops): the run must end clean
ABSORBED = {"repeat", "removed"}


def _state(con) -> dict:
    return {k: v for k, v in con.execute("SELECT key, value FROM ingestion_state").fetchall()}


def _faulty_run(settings, url, **proxy_args):
    """Ingest through a fault proxy: (proxy, the error raised or None)."""
    proxy = FaultProxy(url, max_span=10_000, p429=0, p_stall=0, p_drop=0, seed=7, **proxy_args)
    client = JsonRpcClient(proxy.url, max_retries=4, backoff=0.001, max_backoff=0.01, seed=1)
    shape = dataclasses.replace(settings, max_block_span=20, spans_per_request=3, requests_in_flight=2)
    try:
        ingest(shape, proxy.url, client=client)
        return proxy, None
    except (BadAnswer, NodeBehind) as e:
        return proxy, e
    finally:
        proxy.close()


@pytest.mark.parametrize("p_fault", [0.3, 1.0], ids=["sometimes", "always"])
@pytest.mark.parametrize("fault", sorted(ANSWER_FAULTS))
def test_a_wrong_answer_ends_clean_or_fails_loudly_with_nothing_written(node, settings, tmp_path, fault, p_fault):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    ingest(settings, node.url, to_block=100)  # landed before: a failed run must leave it as it was
    before = dump(settings.duckdb_path)
    proxy, err = _faulty_run(settings, node.url, fault=fault, p_fault=p_fault)
    assert proxy.counts[fault] > 0  # the fault was made
    if err is None:
        assert dump(settings.duckdb_path) == dump(clean.duckdb_path)
    else:
        assert dump(settings.duckdb_path) == before, "a failed run wrote something"
    if p_fault < 1 or fault in ABSORBED:
        assert err is None  # retried (or the extra copies dropped) to the clean tables
    else:
        assert err is not None  # a node that always answers so is an error, never a quiet wrong table
    ingest(settings, node.url)  # and a run against a healthy node completes it
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_a_node_lagging_behind_its_own_head_fails_loudly(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    ingest(settings, node.url, to_block=100)
    before = dump(settings.duckdb_path)
    proxy, err = _faulty_run(settings, node.url, fault="lagging", lag=30)
    assert proxy.counts["lagging"] > 0
    assert isinstance(err, BadAnswer) and "missing" in str(err)
    assert dump(settings.duckdb_path) == before


def test_a_node_behind_the_stored_head_moves_nothing(node, settings):
    ingest(settings, node.url)
    before = dump(settings.duckdb_path)
    with writer(settings.duckdb_path) as con:
        state = _state(con)
    proxy, err = _faulty_run(settings, node.url, fault="behind", lag=40)
    assert isinstance(err, NodeBehind)
    assert dump(settings.duckdb_path) == before
    with writer(settings.duckdb_path) as con:
        assert _state(con) == state  # the cursor moved neither back nor forward
        assert con.execute("SELECT count(*) FROM reorgs").fetchall()[0][0] == 0  # no false reorg


def _block(w, ts, salt, inst):
    """A block holding a Deposit and an event the replay applies (so hours passing write hourly snapshots)."""
    w.mine_block([[(GATE_ADDR, {"event": "Deposit", "quote": USDC, "trader": "0x" + f"{salt % 256:02x}" * 20,
                                "quantity": salt})],
                  [(inst, {"event": "UpdateFundingHour", "funding_hour": 1 + salt % 23})]], ts)


def _dupes(con) -> dict:
    keys = {"pair_hourly": "instrument, expiry, ts", "pearl_snapshots": "instrument, expiry, ts, tick",
            "range_history": "instrument, expiry, owner, tick_lower, tick_upper, ts",
            "depth_snapshots": "instrument, expiry, ts, side, bps",
            "raw_logs": "block_number, log_index"}
    return {t: con.execute(f"SELECT count(*) FROM (SELECT {k} FROM {t} GROUP BY ALL HAVING count(*) > 1)"
                           ).fetchall()[0][0] for t, k in keys.items()}


@pytest.mark.parametrize("depth", [1, 64, 65, 200])
def test_a_reorg_is_repaired_from_its_fork_point_at_any_depth(node, settings, tmp_path, depth):
    from .test_replay_asset import state_dump
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        inst = con.execute("SELECT address FROM instruments ORDER BY first_block LIMIT 1").fetchall()[0][0]
        run_replay(con, settings)  # a checkpoint before the fork
    w = ChainWriter(node.url)
    node.call("evm_setAutomine", [False])
    head = int(node.call("eth_blockNumber"), 16)
    ts = int(node.call("eth_getBlockByNumber", [hex(head), False])["timestamp"], 16)
    snap = node.call("evm_snapshot")
    for i in range(depth):  # the branch that is replaced: an hour passes every 3 blocks
        _block(w, ts + 1200 * (i + 1), 1000 + i, inst)
    for upto in (head + depth // 2, None):  # checkpoints inside the branch too
        ingest(settings, node.url, to_block=upto)
        with writer(settings.duckdb_path) as con:
            run_replay(con, settings)
    node.call("evm_revert", [snap])
    node.call("anvil_dropAllTransactions")
    w.nonce = None
    for i in range(depth + 1):
        _block(w, ts + 1000 * (i + 1), 5000 + i, inst)
    r = ingest(settings, node.url)
    assert r.reorg_from in (head, head + 1)  # from the fork, not from the window's first block
    with writer(settings.duckdb_path) as con:
        assert con.execute("SELECT first_changed_block FROM reorgs").fetchall() == [(head + 1,)]
        run_replay(con, settings)
        assert not any(_dupes(con).values()), _dupes(con)
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    with writer(clean.duckdb_path) as con:
        run_replay(con, clean)
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)
    assert state_dump(settings.duckdb_path) == state_dump(clean.duckdb_path)


def test_a_reorg_older_than_every_stored_hash_fails_loudly_and_deletes_nothing(node, settings):
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        con.execute("UPDATE block_hashes SET block_hash = '0x' || repeat('0', 64)")  # as if another chain
    before = dump(settings.duckdb_path)
    with pytest.raises(ReorgTooDeep):
        ingest(settings, node.url)
    assert dump(settings.duckdb_path) == before


def test_verify_finds_a_wrong_stored_range_and_repair_restores_the_clean_tables(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:  # as an unchecked node once answered: a log lost, one changed
        lost = con.execute("SELECT block_number, log_index FROM raw_logs WHERE block_number > 150 "
                           "ORDER BY 1, 2 LIMIT 1").fetchall()[0]
        con.execute("DELETE FROM raw_logs WHERE block_number = ? AND log_index = ?", list(lost))
        con.execute("UPDATE raw_logs SET data = '0x00' WHERE block_number = (SELECT max(block_number) FROM "
                    "raw_logs)")
    src = RpcLogSource(JsonRpcClient(node.url), settings.max_block_span)
    with writer(settings.duckdb_path) as con:
        ok = verify_range(con, src, settings, 0, 120)
        bad = verify_range(con, src, settings, 0, 10_000)
    assert ok.ok and ok.logs > 0
    assert not bad.ok and bad.missing == 1 and bad.changed >= 1 and bad.first_bad == lost[0]
    with writer(settings.duckdb_path) as con:
        fixed = verify_range(con, src, settings, 0, 10_000, repair=True)
        again = verify_range(con, src, settings, 0, 10_000)
    src.close()
    assert fixed.repaired and again.ok
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_verify_command_line(node, settings, monkeypatch, capsys):
    from pipelines.ingest import verify
    ingest(settings, node.url)
    monkeypatch.setattr(verify, "_open", lambda s: (settings, RpcLogSource(JsonRpcClient(node.url), 100)))
    assert verify.main(["--from-block", "0", "--to-block", "300"]) == 0
    assert "agree" in capsys.readouterr().out
    with writer(settings.duckdb_path) as con:
        con.execute("DELETE FROM raw_logs WHERE block_number = (SELECT max(block_number) FROM raw_logs)")
    assert verify.main(["--from-block", "0", "--to-block", "300"]) == 1
    assert verify.main(["--from-block", "0", "--to-block", "300", "--repair"]) == 0
    assert verify.main(["--from-block", "0", "--to-block", "300"]) == 0


def _settled_run(settings, url, depth, **proxy_args):
    """Ingest through a proxy that counts requests, with full checks only `depth` blocks below the head."""
    proxy = FaultProxy(url, max_span=10_000, p429=0, p_stall=0, p_drop=0, seed=7, **proxy_args)
    shape = dataclasses.replace(settings, max_block_span=20, spans_per_request=3, requests_in_flight=2)
    src = RpcLogSource(JsonRpcClient(proxy.url, max_retries=4, backoff=0.001, max_backoff=0.01, seed=1),
                       shape.max_block_span, shape.spans_per_request, shape.requests_in_flight, verify_depth=depth)
    try:
        with writer(shape.duckdb_path) as con:
            land(con, src, shape)
        return proxy, None
    except BadAnswer as e:
        return proxy, e
    finally:
        src.close()
        proxy.close()


def test_below_the_verify_depth_only_blocks_with_logs_are_checked(node, settings, tmp_path):
    """A backfill of settled blocks asks for the headers of the blocks with logs (and chunk ends) only, and lands
    the same rows as a run that checks every block."""
    node.call("anvil_mine", [hex(600)])  # empty blocks, as most of a sparse chain's are
    full = dataclasses.replace(settings, duckdb_path=str(tmp_path / "full.duckdb"))
    p_full, err = _settled_run(full, node.url, 0, fault="wrong_hash", p_fault=0)
    assert err is None
    p_light, err = _settled_run(settings, node.url, 50, fault="wrong_hash", p_fault=0)
    assert err is None
    assert dump(settings.duckdb_path) == dump(full.duckdb_path)
    assert p_light.methods["eth_getBlockByNumber"] < p_full.methods["eth_getBlockByNumber"] * 0.7


def test_below_the_verify_depth_a_log_from_another_branch_still_fails(node, settings):
    proxy, err = _settled_run(settings, node.url, 50, fault="wrong_hash", p_fault=1.0)
    assert proxy.counts["wrong_hash"] > 0 and isinstance(err, BadAnswer)
