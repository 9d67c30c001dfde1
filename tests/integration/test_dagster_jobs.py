"""Real Dagster runs: the ingest job in process, and the backfill on the multiprocess executor."""
import os

import dagster as dg
import duckdb
import pytest

from pipelines.definitions import backfill_job, defs

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
    result = job.execute_in_process()
    assert result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert everything - done == {dg.AssetKey("lp_audit_ranges"), dg.AssetKey("lp_audit_series")}
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


def test_parallel_backfill_equals_a_plain_ingest(devnet_env, tmp_path, monkeypatch):
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    plain = dump(os.environ["OYSTER_DUCKDB_PATH"])
    os.environ["OYSTER_DUCKDB_PATH"] = str(tmp_path / "backfill.duckdb")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        # `ranges` is given once (plan_ranges); the workers are the setting backfill_workers
        run_config = {"ops": {"plan_ranges": {"config": {"ranges": 4, "landing_dir": str(tmp_path / "landing")}}}}
        result = dg.execute_job(dg.reconstructable(_backfill), instance=instance, run_config=run_config)
        assert result.success
        fetched = [e for e in result.all_events if e.is_step_success and e.step_key.startswith("fetch_range")]
        assert len(fetched) == 4
        # Dagster learns that raw_logs and the events tables changed, with their row counts
        mats = {e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
                for e in result.all_events if e.is_step_materialization}
        con = duckdb.connect(os.environ["OYSTER_DUCKDB_PATH"], read_only=True)
        try:
            for t in ("raw_logs", "events_trade", "events_place"):
                assert mats[t]["dagster/row_count"].value == con.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        finally:
            con.close()
        assert mats["raw_logs"]["blocks_done"].value > 0
        # after a successful backfill, the sensor asks for ingest_job (replay, checks, publication)
        sensor = defs.get_sensor_def("continue_after_backfill")
        ctx = dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_instance=instance,
                                                 dagster_run=result.dagster_run,
                                                 dagster_event=result.get_run_success_event())
        request = sensor(ctx)
        assert isinstance(request, dg.RunRequest) and result.run_id in request.run_key
        assert sensor.job_name == "ingest_job"
    assert len(list((tmp_path / "landing").glob("*.parquet"))) == 4
    assert dump(os.environ["OYSTER_DUCKDB_PATH"]) == plain
    assert set(plain) == set(COMPARED)


def test_backfill_parallelism_is_one_setting(monkeypatch):
    from pipelines.ingest.backfill import workers
    monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "6")
    assert workers() == 6
    monkeypatch.setenv("OYSTER_BACKFILL_WORKERS", "0")  # refused with the other settings at the run's start;
    assert workers() == 4  # the code location still loads


def _backfill():
    """The job as the code location binds it (resources included), rebuilt in each worker process."""
    return defs.resolve_job_def(backfill_job.name)
