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
    from pipelines.publish import published_path  # the run ended by publishing the copy readers open
    with duckdb.connect(str(published_path(os.environ["OYSTER_DUCKDB_PATH"])), read_only=True) as pub:
        assert pub.execute("SELECT count(*) FROM events_trade").fetchall()[0][0] > 100


def test_parallel_backfill_equals_a_plain_ingest(devnet_env, tmp_path):
    assert defs.resolve_job_def("ingest_job").execute_in_process().success
    plain = dump(os.environ["OYSTER_DUCKDB_PATH"])
    os.environ["OYSTER_DUCKDB_PATH"] = str(tmp_path / "backfill.duckdb")
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        run_config = {"ops": {op: {"config": {"ranges": 4, "landing_dir": str(tmp_path / "landing")}}
                              for op in ("plan_ranges", "fetch_range")}}
        result = dg.execute_job(dg.reconstructable(_backfill), instance=instance, run_config=run_config)
        assert result.success
        fetched = [e for e in result.all_events if e.is_step_success and e.step_key.startswith("fetch_range")]
        assert len(fetched) == 4
    assert len(list((tmp_path / "landing").glob("*.parquet"))) == 4
    assert dump(os.environ["OYSTER_DUCKDB_PATH"]) == plain
    assert set(plain) == set(COMPARED)


def _backfill():
    """The job as the code location binds it (resources included), rebuilt in each worker process."""
    return defs.resolve_job_def(backfill_job.name)
