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
