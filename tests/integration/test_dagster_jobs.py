"""Real Dagster runs: the ingest job in process, and the backfill (landed_logs over block-range partitions, one
run fetching its ranges on backfill_workers threads) continued by ingest_job."""
import os
import threading
import time

import dagster as dg
import duckdb
import pytest

from pipelines.chain.sources import RpcLogSource
from pipelines.definitions import defs
from pipelines.ingest.backfill import LANDED, PARTITIONS

from .test_ingest_anvil import COMPARED, dump

pytestmark = pytest.mark.anvil


@pytest.fixture
def devnet_env(tmp_path, monkeypatch, small_history):
    monkeypatch.setenv("OYSTER_DEVNET_SIZE", "small")
    monkeypatch.setenv("OYSTER_DUCKDB_PATH", str(tmp_path / "job.duckdb"))
    return tmp_path


def test_ingest_job_materialises_and_checks_pass(devnet_env):
    result = defs.resolve_job_def("ingest_job").execute_in_process()
    assert result.success
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert set(checks) >= {"raw_logs_cover_without_gaps", "raw_logs_are_unique", "logs_decoded_once",
                           "no_quarantined_logs",
                           "replay_has_no_divergences", "taker_size_is_split_exactly", "fills_reference_orders",
                           "ge_amm_snapshots", "ge_fills", "ge_orders", "ge_lp_ranges", "ge_positions",
                           "ge_pearl_snapshots", "ge_range_history", "ge_funding_index_series",
                           "ge_depth_snapshots", "ge_pair_hourly",
                           "mart_volume_matches_events", "fee_split_adds_up", "replay_matches_observer"}
    assert all(checks.values()), checks
    observed = next(e for e in result.get_asset_check_evaluations()
                    if e.asset_check_key.name == "replay_matches_observer")
    assert observed.metadata["values_compared"].value > 500  # it compared, it did not skip
    con = duckdb.connect(os.environ["OYSTER_DUCKDB_PATH"], read_only=True)
    assert con.execute("SELECT count(*) FROM events_trade").fetchall()[0][0] > 100
    con.close()
    from pipelines.core.publish import published_path  # the run ended by publishing the copy readers open
    with duckdb.connect(str(published_path(os.environ["OYSTER_DUCKDB_PATH"])), read_only=True) as pub:
        assert pub.execute("SELECT count(*) FROM events_trade").fetchall()[0][0] > 100
    _catalog_is_the_warehouse(result, os.environ["OYSTER_DUCKDB_PATH"])
    landed = next(e.step_materialization_data.materialization.metadata for e in result.all_events
                  if e.is_step_materialization and e.asset_key.to_user_string() == "raw_logs")
    assert landed["blocks_done"].value == landed["blocks_total"].value > 0  # the run's progress, as metadata
    assert landed["logs"].value == landed["new_logs"].value and "retries" in landed


# each check on the table it checks
CHECKED = {"raw_logs_cover_without_gaps": "raw_logs", "raw_logs_are_unique": "raw_logs",
           "logs_decoded_once": "decoded_logs", "no_quarantined_logs": "quarantine",
           "replay_has_no_divergences": "replay_divergences", "replay_rounding_drift": "replay_divergences",
           "taker_size_is_split_exactly": "fills", "fills_reference_orders": "fills",
           "replay_matches_observer": "replay_checkpoints", "mart_volume_matches_events": "mart_volume_hourly",
           "fee_split_adds_up": "fact_trades",
           **{f"ge_{t}": t for t in ("amm_snapshots", "pearl_snapshots", "fills", "orders", "lp_ranges",
                                      "range_history", "positions", "funding_index_series", "depth_snapshots",
                                      "pair_hourly")}}


def _catalog_is_the_warehouse(result, db: str) -> None:
    """One asset per table: each materialization's dagster/row_count is the table's count(*), its
    dagster/column_schema the table's columns in DuckDB's information_schema; every check sits on its table; no
    metadata value is a placeholder; the decoded-logs count is what the run decoded."""
    from pipelines.ingest.assets import DECODED_TABLES, INGESTION_TABLES
    from pipelines.ingest.ingest import EVENT_TABLES
    from pipelines.state.assets import REPLAY_TABLES
    mats = {e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()}
    marts = {"dim_instruments", "mart_quote_prices_hourly", "fact_trades", "mart_volume_hourly",
             "mart_volume_hourly_by_quote", "mart_volume_daily_protocol", "mart_fees_daily",
             "mart_open_interest_hourly", "mart_funding_hourly", "mart_liquidations_daily", "mart_depth_hourly",
             "mart_tvl_hourly", "mart_instrument_share_daily", "mart_book_vs_amm_daily",
             "mart_lp_concentration_daily", "mart_protocol_share_daily", "mart_replay_drift_daily",
             "mart_defillama_daily"}
    tables = {*INGESTION_TABLES, *DECODED_TABLES, *REPLAY_TABLES, "peer_volumes", *marts}
    assert len(EVENT_TABLES) == 50 and tables <= set(mats), tables - set(mats)
    with duckdb.connect(db, read_only=True) as con:
        for t in sorted(set(mats) & (tables | {k for k in mats if k.startswith("mart_")})):
            meta = mats[t].metadata
            n = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            if t == "ingestion_state":  # later steps of the run add their checked_to:<step> cursors
                assert meta["dagster/row_count"].value == n - con.execute(
                    "SELECT count(*) FROM ingestion_state WHERE key IN ('checked_to:decode', 'checked_to:replay')"
                ).fetchall()[0][0]
            else:
                assert meta["dagster/row_count"].value == n, t
            cols = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                               "ORDER BY ordinal_position", [t]).fetchall()
            schema = meta["dagster/column_schema"].value
            assert [(c.name, c.type) for c in schema.columns] == cols, t
            assert meta["dagster/table_name"].value == t
        decoded = con.execute("SELECT (SELECT count(*) FROM decoded_logs) + (SELECT count(*) FROM quarantine)"
                              ).fetchall()[0][0]
    assert mats["decoded_logs"].metadata["decoded_this_run"].value == decoded > 3000  # the whole small history
    for key, m in mats.items():
        for name, v in m.metadata.items():
            assert getattr(v, "value", None) != -1, (key, name)  # no placeholder: an unknown value is left out
    for e in result.get_asset_check_evaluations():
        assert e.asset_check_key.asset_key.to_user_string() == CHECKED[e.asset_check_key.name], e.asset_check_key
    assert {e.asset_check_key.name for e in result.get_asset_check_evaluations()} == set(CHECKED)
    # lineage: a state table depends on the events tables the replay reads, a mart on the tables its SQL reads
    graph = defs.resolve_asset_graph()

    def deps(t):
        return {k.to_user_string() for k in graph.get(dg.AssetKey(t)).parent_keys}
    assert {"events_trade", "events_place", "events_add"} <= deps("fills")
    assert deps("fact_trades") == {"events_trade", "events_sweep", "dim_instruments", "fills",
                                   "mart_quote_prices_hourly"}
    assert deps("mart_protocol_share_daily") == {"mart_volume_daily_protocol", "peer_volumes"}
    assert "Daily per instrument" in graph.get(dg.AssetKey("mart_volume_daily")).description


def test_materialize_all_succeeds(devnet_env):
    """"Materialize all": every asset of the code location in one run, in process, with default config; lp_audit
    (no target configured) materializes nothing and says why; with every_lp it audits every range."""
    job = defs.resolve_implicit_global_asset_job_def()
    everything = {k for k in defs.resolve_asset_graph().get_all_asset_keys()}
    # landed_logs is partitioned: "Materialize all" in the UI asks which partitions (a backfill, tested below)
    result = job.execute_in_process(asset_selection=sorted(everything - {LANDED}))
    assert result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert everything - done == {dg.AssetKey("lp_audit_ranges"), dg.AssetKey("lp_audit_series"), LANDED}
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert {e.asset_key.to_user_string() for e in observed} == {"lp_audit_ranges", "lp_audit_series"}
    assert "no audit target configured" in observed[0].event_specific_data.asset_observation.metadata[
        "skipped"].value
    assert all(e.passed for e in result.get_asset_check_evaluations())
    audited = job.execute_in_process(asset_selection=[dg.AssetKey("lp_audit_ranges"), dg.AssetKey("lp_audit_series")],
                                     run_config={"ops": {"lp_audit": {"config": {"every_lp": True}}}})
    assert audited.success
    mats = {e.asset_key.to_user_string(): e.materialization.metadata for e in
            audited.get_asset_materialization_events()}
    with duckdb.connect(os.environ["OYSTER_DUCKDB_PATH"], read_only=True) as con:
        ranges = con.execute("SELECT count(*) FROM lp_ranges").fetchall()[0][0]
    assert mats["lp_audit_ranges"]["ranges"].value == mats["lp_audit_ranges"]["dagster/row_count"].value == ranges > 0


STATE_COMPARED = ("amm_snapshots", "pearl_snapshots", "lp_ranges", "range_history", "orders", "positions", "fills",
                  "depth_snapshots", "pair_hourly", "funding_index_series", "replay_divergences")


def _state(db: str) -> dict:
    with duckdb.connect(db, read_only=True) as con:
        out = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in STATE_COMPARED}
        out["replay_checkpoints"] = con.sql("SELECT cursor_block, cursor_tx, cursor_log, last_ts, events_applied "
                                            "FROM replay_checkpoints ORDER BY ALL").fetchall()
    return out


class _Concurrency:
    """Counts the log fetches under way at once (a wrapper around the real RpcLogSource.logs; each call waits
    0.3 s more so that fetches that can overlap do)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.peak = self.calls = 0
        self.threads = set()

    def wrap(self, real):
        def logs(source, *a, **kw):
            with self.lock:
                self.now += 1
                self.calls += 1
                self.peak = max(self.peak, self.now)
                self.threads.add(threading.current_thread().name)
            try:
                time.sleep(0.3)
                return real(source, *a, **kw)
            finally:
                with self.lock:
                    self.now -= 1
        return logs


def _range_tags(keys: list[str]) -> dict:
    """A run of a range of partitions, as a single-run backfill launches it."""
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def test_backfill_by_block_ranges_then_ingest_job_equals_a_plain_ingest(devnet_env, tmp_path, monkeypatch):
    """The backfill as a Dagster user runs it: partition keys added up to the head (here by ingest_job's
    raw_logs), one single run over every partition with backfill_workers fetches at once, each partition recorded
    as materialized with its metadata; a rerun skips what is landed; the sensor asks for ingest_job, which lands
    the files before asking the node, deletes them, and ends with the tables of a plain ingest."""
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        ingest_job = defs.resolve_job_def("ingest_job")
        assert ingest_job.execute_in_process(instance=instance).success  # the plain ingest
        plain_db = os.environ["OYSTER_DUCKDB_PATH"]
        plain, plain_state = dump(plain_db), _state(plain_db)
        # raw_logs added the keys of the complete ranges of 50 blocks (the devnet's size) up to the head, 265
        keys = instance.get_dynamic_partitions(PARTITIONS)
        assert keys == [f"{a:012d}-{a + 49:012d}" for a in range(0, 250, 50)]

        db = str(tmp_path / "backfill" / "oyster.duckdb")
        monkeypatch.setenv("OYSTER_DUCKDB_PATH", db)
        monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "2")  # the parallelism: one setting
        landing = tmp_path / "backfill" / "oyster.landing"
        fetches = _Concurrency()
        with monkeypatch.context() as m:
            m.setattr(RpcLogSource, "logs", fetches.wrap(RpcLogSource.logs))
            result = defs.resolve_job_def("backfill_job").execute_in_process(instance=instance, tags=_range_tags(keys))
        assert result.success
        # one run fetched the 5 ranges, 2 at a time on 2 threads (plus one NewInstrument query before them)
        assert fetches.calls == 1 + 5 and fetches.peak == 2
        assert {n for n in fetches.threads if n.startswith("backfill")} == {"backfill_0", "backfill_1"}
        assert instance.get_materialized_partitions(LANDED) == set(keys)
        mats = {e.materialization.partition: e.materialization.metadata for e in result.get_asset_materialization_events()}
        assert set(mats) == set(keys)
        for key, meta in mats.items():
            lo, hi = (int(b) for b in key.split("-"))
            assert (meta["from_block"].value, meta["to_block"].value, meta["blocks"].value) == (lo, hi, 50)
            assert meta["file"].value == str(landing / f"{key}.parquet") and meta["seconds"].value > 0
        with duckdb.connect(plain_db, read_only=True) as con:
            in_ranges = con.execute("SELECT count(*) FROM raw_logs WHERE block_number <= 249").fetchall()[0][0]
        assert sum(meta["logs"].value for meta in mats.values()) == in_ranges
        assert sorted(p.name for p in landing.glob("*.parquet")) == [f"{k}.parquet" for k in keys]

        # a rerun (a failed backfill launched again) skips the ranges already landed: no fetch at all
        fetches = _Concurrency()
        with monkeypatch.context() as m:
            m.setattr(RpcLogSource, "logs", fetches.wrap(RpcLogSource.logs))
            again = defs.resolve_job_def("backfill_job").execute_in_process(instance=instance, tags=_range_tags(keys))
        assert again.success and fetches.calls == 0
        assert {e.materialization.metadata["skipped"].value for e in again.get_asset_materialization_events()} == {
            "already in the landing folder"}

        # after a successful backfill, the sensor asks for ingest_job (it lands, replays, checks, publishes)
        sensor = defs.resolve_sensor_def("continue_after_backfill")
        assert sensor.job_name == "ingest_job"

        def evaluate(run_result):
            return sensor(dg.build_run_status_sensor_context(
                sensor_name=sensor.name, dagster_instance=instance, dagster_run=run_result.dagster_run,
                dagster_event=run_result.get_run_success_event()))
        request = evaluate(result)
        assert isinstance(request, dg.RunRequest) and result.run_id in request.run_key
        assert isinstance(evaluate(again), dg.RunRequest)

        # ingest_job: the files first (the node only for the partial range after them), then deleted
        after = ingest_job.execute_in_process(instance=instance)
        assert after.success
        assert isinstance(evaluate(after), dg.SkipReason)  # an ingest_job run is no backfill
        raw = next(e.materialization.metadata for e in after.get_asset_materialization_events()
                   if e.asset_key.to_user_string() == "raw_logs")
        assert raw["landed_files"].value == 5 and raw["logs_from_files"].value == in_ranges
        assert (raw["from_block"].value, raw["to_block"].value) == (0, 265)
        assert all(e.passed for e in after.get_asset_check_evaluations())
        assert not list(landing.glob("*.parquet"))
        with duckdb.connect(db, read_only=True) as con:
            assert con.execute("SELECT from_block, to_block FROM ingested_ranges ORDER BY 1").fetchall() == [
                (0, 49), (50, 99), (100, 149), (150, 199), (200, 249), (250, 265)]
        assert dump(db) == plain and set(plain) == set(COMPARED)
        assert _state(db) == plain_state and plain_state["fills"]

        # nothing new after it: the next run stops after raw_logs
        idle = ingest_job.execute_in_process(instance=instance)
        assert {e.step_key for e in idle.all_events if e.event_type_value == "STEP_SUCCESS"} == {"raw_logs"}


def test_backfill_parallelism_is_one_setting(monkeypatch):
    from pipelines.core.config import ConfigError, load_settings
    monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "6")
    assert load_settings().backfill_workers == 6
    monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "0")  # refused with the other settings at the run's start
    with pytest.raises(ConfigError, match="backfill_workers"):
        load_settings()
