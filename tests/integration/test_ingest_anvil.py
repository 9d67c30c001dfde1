"""Ingestion against a real anvil holding the small devnet history."""
import dataclasses
import json
from contextlib import closing
import os
import signal
import subprocess
import sys
import threading

import duckdb
import polars as pl
import pytest

from devnet.chain_writer import ChainWriter
from devnet.simulator import GATE_ADDR, USDC
from models.events import BY_NAME, EVENTS
from pipelines.chain.rpc import JsonRpcClient, RpcUnavailable
from pipelines.chain.sources import RpcLogSource
from pipelines.core.config import ConfigError, load_settings
from pipelines.core.store import writer
from pipelines.ingest.ingest import EVENT_TABLES, decode, land

from .fault_proxy import FaultProxy

pytestmark = pytest.mark.anvil
COMPARED = ("raw_logs", "quarantine", "instruments", *EVENT_TABLES)


def ingest(settings, url, client=None, **kw):
    src = RpcLogSource(client or JsonRpcClient(url), settings.max_block_span, settings.spans_per_request,
                       settings.requests_in_flight)
    with writer(settings.duckdb_path) as con, closing(src):
        r = land(con, src, settings, **kw)
        decode(con)
    return r


def dump(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in COMPARED}
    finally:
        con.close()


def test_full_ingest_equals_the_simulator_row_for_row(node, settings, small_history):
    ingest(settings, node.url)
    expected = pl.read_parquet(small_history / "expected.parquet")
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    assert con.execute("SELECT count(*) FROM raw_logs").fetchall()[0][0] == expected.height
    assert con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == 0
    total = sum(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in EVENT_TABLES)
    assert total == expected.height
    tables = {}
    for spec in EVENTS:
        if spec.table not in tables:
            tables[spec.table] = {(r[0], r[1]): r[2] for r in con.sql(
                f"SELECT block_number, log_index, to_json(t) FROM {spec.table} t").fetchall()}
    for row in expected.iter_rows(named=True):
        spec = BY_NAME[row["event"]]
        got = json.loads(tables[spec.table][(row["block_number"], row["log_index"])])
        assert got["address"] == row["address"] and got["block_timestamp"] == row["block_timestamp"]
        assert got["tx_index"] == row["tx_index"]
        for k, v in json.loads(row["fields"]).items():
            g = got[k]
            if isinstance(v, bool) or isinstance(g, bool):
                assert g == v, (row["event"], k)
            elif isinstance(v, int) or (isinstance(v, str) and v.lstrip("-").isdigit()):
                assert int(g) == int(v), (row["event"], k)
            elif spec.table == "events_new_instrument" and k == "index":
                assert g == "0x" + v
            else:
                assert str(g).lower() == str(v).lower(), (row["event"], k)
    con.close()


def test_rerunning_a_range_never_duplicates(node, settings):
    ingest(settings, node.url)
    before = dump(settings.duckdb_path)
    with writer(settings.duckdb_path) as con:
        con.execute("UPDATE ingestion_state SET value = '100' WHERE key IN ('covered_to', 'decoded_to')")
    ingest(settings, node.url)
    assert dump(settings.duckdb_path) == before


def _deposit_block(writer_, ts, n, salt):
    txs = [[(GATE_ADDR, {"event": "Deposit", "quote": USDC, "trader": "0x" + f"{salt:02x}" * 20,
                         "quantity": salt * 1000 + i})] for i in range(n)]
    writer_.mine_block(txs, ts)


def test_a_reorg_of_the_last_blocks_is_repaired(node, settings, tmp_path):
    w = ChainWriter(node.url)
    node.call("evm_setAutomine", [False])  # blocks are mined by mine_block, at chosen timestamps
    head = int(node.call("eth_blockNumber"), 16)
    ts = node.call("eth_getBlockByNumber", [hex(head), False])["timestamp"]
    ts = int(ts, 16)
    snap = node.call("evm_snapshot")
    for i in range(6):
        _deposit_block(w, ts + 10 + i, 2, salt=0xA0 + i)
    ingest(settings, node.url)
    # the last 6 blocks are replaced by 7 others with different logs
    node.call("evm_revert", [snap])
    node.call("anvil_dropAllTransactions")  # the reverted branch's txs may be back in the pool
    w.nonce = None
    for i in range(7):
        _deposit_block(w, ts + 11 + i, 1 + i % 3, salt=0xB0 + i)
    r = ingest(settings, node.url)
    # repair starts after the last block whose stored hash still matches: at most one block early when the
    # head block had no logs (its hash was only known if a chunk ended there)
    assert r.reorg_from in (head, head + 1)
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    assert con.execute("SELECT first_changed_block FROM reorgs").fetchall() == [(head + 1,)]  # detected exactly
    con.close()


def test_faults_in_front_of_the_node_leave_identical_tables(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    proxy = FaultProxy(node.url, max_span=10, seed=3)
    try:
        client = JsonRpcClient(proxy.url, max_retries=12, timeout=1.0, backoff=0.01, max_backoff=0.2, seed=1)
        # batches of spans and several requests out at once: a refusal drops the requests planned after it
        faulty = dataclasses.replace(settings, max_block_span=64, spans_per_request=3, requests_in_flight=4)
        ingest(faulty, proxy.url, client=client)
    finally:
        proxy.close()
    assert proxy.counts["refused_span"] > 0 and proxy.counts["drop"] > 0 and proxy.counts["429"] > 0
    assert proxy.counts["stall"] > 0 and client.retries > 0
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_logs_without_timestamps_take_them_from_block_headers(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    proxy = FaultProxy(node.url, max_span=10_000, p429=0, p_stall=0, p_drop=0, strip_timestamps=True)
    try:
        ingest(settings, proxy.url)
    finally:
        proxy.close()
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_a_run_killed_mid_load_resumes_to_identical_tables(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    script = (
        "import sys, time, dataclasses\n"
        "from pipelines.core.config import load_settings\n"
        "from pipelines.chain.rpc import JsonRpcClient\n"
        "from pipelines.chain.sources import RpcLogSource\n"
        "from pipelines.ingest.ingest import land\n"
        "from pipelines.core.store import writer\n"
        f"s = dataclasses.replace(load_settings(env={{}}), duckdb_path={settings.duckdb_path!r})\n"
        f"src = RpcLogSource(JsonRpcClient({node.url!r}), 5)\n"
        "def tick(lo, hi, n):\n"
        "    print('chunk', lo, hi, flush=True); time.sleep(0.2)\n"
        "with writer(s.duckdb_path) as con:\n"
        "    land(con, src, s, chunk_blocks=10, batch_logs=1, on_chunk=tick)\n")
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for _ in range(5):
        assert p.stdout.readline().startswith("chunk")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    os.remove(settings.duckdb_path + ".writer.lock")  # a killed process leaves its lock file (not the lock)
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    covered = int(con.execute("SELECT value FROM ingestion_state WHERE key='covered_to'").fetchall()[0][0])
    con.close()
    assert 40 <= covered < 200  # stopped part-way, on a whole chunk
    ingest(settings, node.url)
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


class _NodeGoesAway(JsonRpcClient):
    """Fault injection: eth_getLogs fails for good after `calls` requests (as a node that went down)."""

    def __init__(self, url: str, calls: int):
        super().__init__(url)
        self.left = calls

    def batch_raw(self, calls):
        self.left -= 1
        if self.left < 0:
            raise RpcUnavailable("node went away")
        return super().batch_raw(calls)


def test_a_node_failing_mid_load_stops_every_stage_and_a_rerun_gives_identical_tables(node, settings, tmp_path):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    threads = threading.active_count()
    with pytest.raises(RpcUnavailable, match="node went away"):
        ingest(settings, node.url, client=_NodeGoesAway(node.url, calls=12), chunk_blocks=10, batch_logs=300)
    assert threading.active_count() == threads  # fetch, decode and request threads all stopped
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    covered = int(con.execute("SELECT value FROM ingestion_state WHERE key='covered_to'").fetchall()[0][0])
    con.close()
    assert 0 < covered < 200  # whole batches landed before the failure, and only those
    ingest(settings, node.url)
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_bad_rpc_url_gives_a_clear_error_without_the_secret(settings):
    client = JsonRpcClient("http://127.0.0.1:9/v2/SECRET-KEY", max_retries=1, backoff=0.01, timeout=1)
    with pytest.raises(RpcUnavailable) as e:
        RpcLogSource(client, 10).head()
    assert "SECRET-KEY" not in str(e.value) and "127.0.0.1" in str(e.value)


def test_bad_config_names_the_setting(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("gate: '0x1234'\nconfig: '0xb63902d38738e353f3f52add203c418a0bfea172'\n")
    with pytest.raises(ConfigError, match="gate"):
        load_settings(cfg, env={})
    cfg.write_text("confirmations: many\n")
    with pytest.raises(ConfigError, match="confirmations"):
        load_settings(cfg, env={})
    with pytest.raises(ConfigError, match="OYSTER_RPC_URL"):
        load_settings(env={"OYSTER_CHAIN": "base"})
    with pytest.raises(ConfigError, match="spans_per_request"):
        load_settings(env={"OYSTER_SPANS_PER_REQUEST": "0"})
    with pytest.raises(ConfigError, match="requests_in_flight"):
        load_settings(env={"OYSTER_REQUESTS_IN_FLIGHT": "-2"})


def test_cryo_parquet_dumps_ingest_like_the_node(node, settings, tmp_path):
    """Logs frozen cryo-style (binary columns, cryo's names, no timestamp; a blocks dump beside them) land in
    the same tables as an RPC ingest."""
    from pipelines.chain.sources import ParquetLogSource
    ingest(settings, node.url)
    con = duckdb.connect(settings.duckdb_path, read_only=True)
    raw = con.sql("SELECT * FROM raw_logs ORDER BY block_number, log_index").pl()
    con.close()
    dump_dir = tmp_path / "cryo"
    dump_dir.mkdir()
    unhex = lambda c: pl.col(c).str.slice(2).str.decode("hex")  # noqa: E731
    logs = raw.select(pl.col("block_number").cast(pl.UInt32), unhex("block_hash").alias("block_hash"),
                      pl.col("tx_index").cast(pl.UInt32).alias("transaction_index"),
                      pl.col("log_index").cast(pl.UInt32), unhex("tx_hash").alias("transaction_hash"),
                      unhex("address").alias("address"), *(unhex(f"topic{i}").alias(f"topic{i}") for i in range(4)),
                      unhex("data").alias("data"), pl.lit(31337).alias("chain_id"))
    half = logs.height // 2  # two chunk files, as cryo writes them
    logs[:half].write_parquet(dump_dir / "devnet__logs__00000000_to_00000150.parquet")
    logs[half:].write_parquet(dump_dir / "devnet__logs__00000151_to_00000300.parquet")
    raw.select("block_number", pl.col("block_timestamp").alias("timestamp")).unique().write_parquet(
        dump_dir / "devnet__blocks__00000000_to_00000300.parquet")
    from_parquet = dataclasses.replace(settings, duckdb_path=str(tmp_path / "parquet.duckdb"))
    with writer(from_parquet.duckdb_path) as c2:
        land(c2, ParquetLogSource(str(dump_dir)), from_parquet)
        decode(c2)
    assert dump(from_parquet.duckdb_path) == dump(settings.duckdb_path)


class _NoPrePass(RpcLogSource):
    """A source whose topic-filtered query finds nothing, so instruments are only found inside the chunks."""

    def logs(self, lo, hi, addresses, topic0=None):
        if topic0:
            return super().logs(lo, lo - 1, addresses)
        return super().logs(lo, hi, addresses, topic0)


@pytest.mark.parametrize("batch_logs", [1, 100_000])
def test_instruments_found_inside_a_chunk_are_fetched_back_to_their_first_block(node, settings, tmp_path,
                                                                                batch_logs):
    clean = dataclasses.replace(settings, duckdb_path=str(tmp_path / "clean.duckdb"))
    ingest(clean, node.url)
    with writer(settings.duckdb_path) as con:
        land(con, _NoPrePass(JsonRpcClient(node.url), settings.max_block_span), settings, chunk_blocks=20,
             batch_logs=batch_logs)
        decode(con)
    assert dump(settings.duckdb_path) == dump(clean.duckdb_path)


def test_a_later_start_block_still_decodes_in_step(node, settings):
    """A chain indexed from its deployment block (Base: 15,779,365) decodes each batch as it lands, instead of
    leaving everything to the catch-up pass."""
    s = dataclasses.replace(settings, start_block=1)
    with writer(s.duckdb_path) as con:
        r = land(con, RpcLogSource(JsonRpcClient(node.url), s.max_block_span), s)
        state = dict(con.execute("SELECT key, value FROM ingestion_state").fetchall())
        decoded = con.execute("SELECT count(*) FROM decoded_logs").fetchall()[0][0]
        assert decode(con) == 0
    assert r.logs > 0 and state["decoded_to"] == state["covered_to"] and decoded == r.logs


def test_logs_decoded_once_catches_a_log_decoded_twice_or_lost(node, settings):
    from pipelines.core.quality import sql_check
    ingest(settings, node.url)
    with writer(settings.duckdb_path) as con:
        assert sql_check(con, "logs_decoded_once").passed
        con.execute("INSERT INTO events_trade SELECT * FROM events_trade LIMIT 1")  # decoded twice
        twice = sql_check(con, "logs_decoded_once")
        con.execute("DELETE FROM events_trade")  # decoded copies gone: their logs are landed but not decoded
        lost = sql_check(con, "logs_decoded_once")
    assert not twice.passed and twice.metadata["offending_rows"].value == 1
    assert not lost.passed and lost.metadata["offending_rows"].value > 100
