"""The code location loads the way `dagster dev -w workspace.yaml` and `dg` load it."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Validation successful" in out.stderr + out.stdout


def test_jobs_and_schedule_are_defined():
    import dagster as dg

    from pipelines.definitions import defs
    assert {j.name for j in defs.jobs} >= {"ingest_job", "backfill_job"}
    schedule = defs.resolve_schedule_def("ingest_schedule")
    assert schedule.cron_schedule == "*/5 * * * *" and schedule.job_name == "ingest_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # started by hand, per instance


def test_the_backfill_is_a_partitioned_asset_with_its_job_and_sensors():
    """landed_logs: block-range partitions (dynamic, block_ranges), one run per backfill (single-run policy);
    backfill_job is its asset job; raw_logs declares the lineage and ingest_job does not select it; two sensors
    running by default: the keys, and ingest_job after a backfill."""
    import dagster as dg

    from pipelines.definitions import defs
    graph = defs.resolve_asset_graph()
    landed = graph.get(dg.AssetKey("landed_logs"))
    assert landed.group_name == "backfill"
    assert isinstance(landed.partitions_def, dg.DynamicPartitionsDefinition)
    assert landed.partitions_def.name == "block_ranges"
    assert landed.backfill_policy == dg.BackfillPolicy.single_run()
    assert dg.AssetKey("landed_logs") in graph.get(dg.AssetKey("raw_logs")).parent_keys
    assert graph.get(dg.AssetKey("raw_logs")).partitions_def is None  # raw_logs stays unpartitioned
    backfill = defs.resolve_job_def("backfill_job")
    assert backfill.partitions_def == landed.partitions_def
    assert backfill.asset_layer.executable_asset_keys == {dg.AssetKey("landed_logs")}
    ingest = defs.resolve_job_def("ingest_job")
    assert dg.AssetKey("landed_logs") not in ingest.asset_layer.executable_asset_keys
    assert dg.AssetKey("raw_logs") in ingest.asset_layer.executable_asset_keys
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"continue_after_backfill", "block_range_partitions"}
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    assert defs.resolve_sensor_def("continue_after_backfill").job_name == "ingest_job"
    partitions = defs.resolve_sensor_def("block_range_partitions")
    assert partitions.minimum_interval_seconds == 300 and not partitions.has_jobs
