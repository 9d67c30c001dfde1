"""landed_logs over block-range partitions: the keys (complete aligned ranges up to head - confirmations, added
by the sensor without a node on the devnet), and raw_logs' landing of their files before the node: a gap between
files fetched from the node, files deleted once landed, a backfill in progress (only its files land, the node is
not asked for its blocks), a reorg reaching a file (the file is deleted).  The whole flow through Dagster
(single-run backfill, parallelism, continuation into ingest_job) is in test_dagster_jobs.py."""
import dataclasses
from contextlib import closing

import dagster as dg
import duckdb
import pytest

from pipelines.chain.rpc import JsonRpcClient
from pipelines.chain.sources import RpcLogSource
from pipelines.core import warehouse_identity
from pipelines.core.config import load_settings
from pipelines.core.publish import publish
from pipelines.core.store import writer
from pipelines.definitions import defs
from pipelines.ingest.assets import nothing_new
from pipelines.ingest.backfill import (LANDED, MAX_NEW_KEYS, PARTITIONS, add_keys, fetching, key_range,
                                       land_with_landing, missing_keys, partition_key)

from .test_ingest_anvil import dump, ingest

BASE = {"OYSTER_CHAIN": "base", "OYSTER_RPC_URL": "https://node.example/v2/KEY"}
SMALL_KEYS = [partition_key(a, a + 49) for a in range(0, 250, 50)]  # the small history's head is 265


def test_keys_are_the_complete_aligned_ranges_up_to_the_head_less_confirmations():
    s = load_settings(env=BASE)  # start block 15,779,365, 12 confirmations
    assert s.backfill_partition_blocks == 100_000
    keys = missing_keys(s, 16_000_011)  # up to block 15,999,999
    assert keys == ["000015700000-000015799999", "000015800000-000015899999", "000015900000-000015999999"]
    assert missing_keys(s, 16_000_010) == keys[:2]  # the range at the head is not complete yet: no key
    assert sorted(keys) == keys and key_range(keys[0]) == (15_700_000, 15_799_999)
    assert missing_keys(s, 16_100_011, keys) == ["000016000000-000016099999"]  # only what is missing
    # after a change of the size, a range an older key covers keeps that key
    smaller = dataclasses.replace(s, backfill_partition_blocks=40_000)
    assert missing_keys(smaller, 16_100_011, keys) == [partition_key(16_000_000, 16_039_999),
                                                       partition_key(16_040_000, 16_079_999)]
    assert missing_keys(s, 16_000_011, ["not a block range"]) == keys  # a key added by hand covers nothing
    tiny = dataclasses.replace(s, backfill_partition_blocks=10)
    assert len(missing_keys(tiny, 16_000_011)) == MAX_NEW_KEYS  # the rest on the next call
    with pytest.raises(ValueError, match="not a block range key"):
        key_range("12-34")
    assert load_settings(env={}).backfill_partition_blocks == 50  # the devnet: several partitions


def test_the_sensor_adds_the_keys_up_to_the_devnet_head_without_a_node(small_history, tmp_path, monkeypatch):
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "oyster.duckdb"))
    monkeypatch.delenv("OYSTER_CONFIRMATIONS", raising=False)
    sensor = defs.resolve_sensor_def("block_range_partitions")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.minimum_interval_seconds == 300
    with dg.instance_for_test() as instance:
        out = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(out, dg.SensorResult) and not out.run_requests
        [request] = out.dynamic_partitions_requests
        assert request.partitions_def_name == PARTITIONS and list(request.partition_keys) == SMALL_KEYS
        instance.add_dynamic_partitions(PARTITIONS, list(request.partition_keys))
        again = sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(again, dg.SkipReason) and "up to block 265" in again.skip_message
        monkeypatch.setenv("OYSTER_BACKFILL_PARTITION_BLOCKS", "5")  # a bad setting fails the tick, naming it
        with pytest.raises(Exception, match="backfill_partition_blocks"):
            sensor(dg.build_sensor_context(instance=instance))


def test_cli_partitions_adds_the_keys_to_the_dagster_home_instance(small_history, tmp_path, monkeypatch, capsys):
    """Without a daemon (no sensor), `cli partitions` adds the keys a backfill from the command line needs."""
    from pipelines import cli
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "oyster.duckdb"))
    monkeypatch.delenv("OYSTER_CONFIRMATIONS", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli.main(["partitions"]) == 2 and "DAGSTER_HOME is not set" in capsys.readouterr().err
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli.main(["partitions"]) == 0
    assert f"5 partition keys added to {PARTITIONS}" in capsys.readouterr().out
    assert cli.main(["partitions"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("0 partition keys added") and f"5 in all: {SMALL_KEYS[0]}...{SMALL_KEYS[-1]}" in out
    with dg.DagsterInstance.get() as instance:
        assert instance.get_dynamic_partitions(PARTITIONS) == SMALL_KEYS


@pytest.fixture
def env(tmp_path, monkeypatch, small_history):
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "w" / "oyster.duckdb"))
    monkeypatch.delenv("OYSTER_CONFIRMATIONS", raising=False)
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        s = load_settings()
        assert add_keys(instance, s, 265) == SMALL_KEYS
        yield s, instance


def _backfill(instance, *keys) -> list:
    job = defs.resolve_job_def("backfill_job")
    out = []
    for k in keys:
        result = job.execute_in_process(instance=instance, partition_key=k)
        assert result.success
        out.append(result)
    return out


def _source(node, s) -> RpcLogSource:
    return RpcLogSource(JsonRpcClient(node.url), s.max_block_span, s.spans_per_request, s.requests_in_flight)


def _land(s, node):
    """raw_logs' landing (land_with_landing) against the node: its result and the landed ranges."""
    with writer(s.duckdb_path) as con, closing(_source(node, s)) as src:
        r = land_with_landing(con, src, s)
        ranges = con.execute("SELECT from_block, to_block FROM ingested_ranges ORDER BY 1").fetchall()
    return r, ranges


def _ingest_to(s, node, block: int) -> None:
    """The warehouse as runs leave it (its identity recorded: a backfill refuses a warehouse of other settings),
    landed up to `block`."""
    with writer(s.duckdb_path) as con:
        warehouse_identity.check(con, s, s.duckdb_path)
    ingest(s, node.url, to_block=block)


def _plain(s, node, tmp_path) -> dict:
    plain = dataclasses.replace(s, duckdb_path=str(tmp_path / "plain.duckdb"))
    ingest(plain, node.url)
    return dump(plain.duckdb_path)


@pytest.mark.anvil
def test_files_land_before_the_node_which_fills_the_gaps_between_them(env, node, tmp_path):
    s, instance = env
    _backfill(instance, SMALL_KEYS[0], SMALL_KEYS[2])
    assert instance.get_materialized_partitions(LANDED) == {SMALL_KEYS[0], SMALL_KEYS[2]}
    r, ranges = _land(s, node)
    # file 0..49, the node 50..99, file 100..149, the node up to the head
    assert ranges == [(0, 49), (50, 99), (100, 149), (150, 265)]
    assert r.progress["landed_files"] == 2 and (r.from_block, r.to_block) == (0, 265)
    assert r.progress["blocks_done"] == r.progress["blocks_total"] == 266
    assert not list(s.landing_dir.glob("*.parquet"))  # landed: deleted
    assert dump(s.duckdb_path) == _plain(s, node, tmp_path)


@pytest.mark.anvil
def test_while_a_backfill_fetches_only_its_files_land(env, node, tmp_path):
    s, instance = env
    _ingest_to(s, node, 99)
    publish(s.duckdb_path)
    with closing(_source(node, s)) as src:
        assert nothing_new(s.duckdb_path, src, s) is None  # blocks 100..265 are new
        with fetching(s.landing_dir):  # a backfill is fetching
            idle = nothing_new(s.duckdb_path, src, s)
            assert idle and "a backfill is fetching" in idle and "after 99" in idle
            r, ranges = _land(s, node)  # the node is not asked for the blocks the backfill fetches
            assert (r.logs, r.to_block, ranges) == (0, 99, [(0, 99)])
            # its file for 100..149 arrives; 0..49 is in the warehouse already: recorded, not fetched again
            landed, skipped = _backfill(instance, SMALL_KEYS[2], SMALL_KEYS[0])
            assert skipped.get_asset_materialization_events()[0].materialization.metadata["skipped"].value == (
                "the warehouse holds blocks up to 99")
            assert not (s.landing_dir / f"{SMALL_KEYS[0]}.parquet").exists()
            publish(s.duckdb_path)
            assert nothing_new(s.duckdb_path, src, s) is None  # a landing file continues the warehouse: work
            r, ranges = _land(s, node)
            assert ranges == [(0, 99), (100, 149)] and r.progress["landed_files"] == 1
            assert r.logs == landed.get_asset_materialization_events()[0].materialization.metadata["logs"].value
    r, ranges = _land(s, node)  # the backfill is over: the node for the rest
    assert ranges[-1] == (150, 265) and r.progress["landed_files"] == 0
    assert dump(s.duckdb_path) == _plain(s, node, tmp_path)


@pytest.mark.anvil
def test_a_reorg_deletes_the_landing_files_it_reaches(env, node, tmp_path):
    s, instance = env
    _ingest_to(s, node, 99)
    _backfill(instance, SMALL_KEYS[2])
    assert (s.landing_dir / f"{SMALL_KEYS[2]}.parquet").exists()
    with duckdb.connect(s.duckdb_path) as con:  # the chain changed under block 99: its stored hash is not the node's
        assert con.execute("UPDATE block_hashes SET block_hash = '0x' || repeat('ab', 32) WHERE block_number = 99"
                           ).fetchall() == [(1,)]
    r, ranges = _land(s, node)
    assert r.reorg_from is not None and r.reorg_from <= 99
    assert r.progress["landed_files"] == 0  # the file was fetched before the fork was known: deleted, not landed
    assert not list(s.landing_dir.glob("*.parquet"))
    assert ranges[-1][1] == 265
    assert dump(s.duckdb_path) == _plain(s, node, tmp_path)


@pytest.mark.anvil
def test_a_failed_backfill_keeps_what_it_fetched_and_resumes(env, monkeypatch):
    """A range the node cannot serve (a key added by hand past the head) fails the run; the ranges fetched before
    it are recorded as materialized and kept; launching it again fetches only the rest."""
    s, instance = env
    monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "1")  # one range after the other: the failing one is last
    monkeypatch.setenv("OYSTER_MAX_RETRIES", "0")
    beyond = partition_key(1000, 1049)
    instance.add_dynamic_partitions(PARTITIONS, [beyond])
    job = defs.resolve_job_def("backfill_job")
    tags = {"dagster/asset_partition_range_start": SMALL_KEYS[3], "dagster/asset_partition_range_end": beyond}
    failed = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert not failed.success
    assert instance.get_materialized_partitions(LANDED) == {SMALL_KEYS[3], SMALL_KEYS[4]}
    assert sorted(p.stem for p in s.landing_dir.glob("*.parquet")) == SMALL_KEYS[3:]
    assert not list(s.landing_dir.glob("*.tmp"))
    again = job.execute_in_process(instance=instance, tags={"dagster/asset_partition_range_start": SMALL_KEYS[3],
                                                            "dagster/asset_partition_range_end": SMALL_KEYS[4]})
    assert {e.materialization.metadata["skipped"].value for e in again.get_asset_materialization_events()} == {
        "already in the landing folder"}


@pytest.mark.anvil
def test_the_gates_instrument_scan_is_asked_once_across_backfills(env, monkeypatch):
    """A backfill asks the Gate's NewInstrument logs only past what an earlier one asked (the scan is kept in the
    landing folder); its ranges still get every instrument's logs; a scan that no longer reaches back to what the
    warehouse lacks is asked again."""
    import json

    import polars as pl

    from pipelines.ingest.backfill import INSTRUMENT_SCAN
    from pipelines.ingest.ingest import NEW_INSTRUMENT
    s, instance = env
    scans, real = [], RpcLogSource.logs

    def spy(self, lo, hi, addresses=None, topics=None, *a, **k):
        if topics and NEW_INSTRUMENT in topics:
            scans.append((lo, hi))
        return real(self, lo, hi, addresses, topics, *a, **k)
    monkeypatch.setattr(RpcLogSource, "logs", spy)
    job = defs.resolve_job_def("backfill_job")

    def run(first, last):
        tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        assert job.execute_in_process(instance=instance, tags=tags).success
    run(SMALL_KEYS[0], SMALL_KEYS[1])
    assert scans == [(0, 99)]
    doc = json.loads((s.landing_dir / INSTRUMENT_SCAN).read_text())
    assert (doc["from"], doc["to"]) == (0, 99) and len(doc["instruments"]) >= 2
    run(SMALL_KEYS[2], SMALL_KEYS[4])
    assert scans == [(0, 99), (100, 249)]  # only past the kept scan
    later = pl.concat([pl.read_parquet(s.landing_dir / f"{k}.parquet") for k in SMALL_KEYS[2:]])
    instruments = {a for a, _ in doc["instruments"]}
    assert instruments <= set(later["address"].str.to_lowercase())  # the kept instruments' logs were fetched
    for k in SMALL_KEYS:  # fetched again below: a scan that starts after block 0 does not serve a fresh warehouse
        (s.landing_dir / f"{k}.parquet").unlink()
    doc["from"] = 50
    (s.landing_dir / INSTRUMENT_SCAN).write_text(json.dumps(doc))
    run(SMALL_KEYS[0], SMALL_KEYS[0])
    assert scans[-1] == (0, 49)
