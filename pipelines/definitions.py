"""The code location: resources, assets, checks, jobs and schedules.

Jobs run on the in-process executor (one process for the whole run, each library imported once); the backfill
(landed_logs over block-range partitions, pipelines.ingest.backfill) fetches its ranges on backfill_workers
threads inside its one step.  The schedule asks first whether there is anything to do
(pipelines.ingest.schedule): a tick with nothing new makes no run, its reason shown in the tick history; a run
started by hand with nothing new still stops after raw_logs.  Two sensors, running by default where a daemon
runs: block_range_partitions adds the partition keys the head has reached; continue_after_backfill starts
ingest_job after a run that materialized landed_logs.
"""
import dagster as dg

from .audits import assets as audits_assets
from .chain.resources import ChainSource
from .core.publish import WriterRun
from .core.resources import OysterConfig, Warehouse
from .dashboard import assets as dashboard_assets
from .ingest import assets as ingest_assets
from .ingest import backfill
from .ingest.backfill import LANDED, backfill_job, partitions_tick
from .ingest.schedule import decide
from .marts import assets as marts_assets
from .publish import assets as publish_assets
from .state import assets as state_assets

_oyster = OysterConfig()
_chain = ChainSource(config=_oyster)

ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.groups("ingestion", "state", "marts", "publish"),
    executor_def=dg.in_process_executor,
    description="The main job: land new logs, decode them, replay them into state, build the marts and the "
                "dashboard, publish the warehouse readers open; skipped after raw_logs when nothing new landed.")

def _landed_in(run: dg.DagsterRun) -> bool:
    """The run materialized landed_logs partitions: backfill_job, or an asset run selecting it (a backfill
    launched from the asset's page, "Materialize" of some partitions)."""
    return run.job_name == backfill.BACKFILL_JOB or LANDED in (run.asset_selection or ())


# No monitored_jobs: every job of this code location, since a backfill launched from the asset's page runs as
# the implicit asset job, not as backfill_job.
@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, request_job=ingest_job,
                      default_status=dg.DefaultSensorStatus.RUNNING,
                      description="After a successful run that materialized landed_logs (a backfill), ingest_job "
                                  "lands its files, replays them, checks and publishes (where a Dagster daemon "
                                  "runs; otherwise run ingest_job by hand).")
def continue_after_backfill(context: dg.RunStatusSensorContext):
    if not _landed_in(context.dagster_run):
        return dg.SkipReason(f"run {context.dagster_run.run_id} did not materialize landed_logs")
    return dg.RunRequest(run_key=f"after-backfill-{context.dagster_run.run_id}")


@dg.sensor(name="block_range_partitions", minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Adds the landed_logs partition keys (complete aligned ranges of backfill_partition_blocks) "
                       "up to head - confirmations: one eth_blockNumber per evaluation (the devnet: its kept "
                       "history's head, no anvil).  ingest_job's raw_logs adds them too.")
def block_range_partitions(context: dg.SensorEvaluationContext):
    settings = OysterConfig(config_file=_oyster.config_file).settings()  # read again every tick, as the schedule
    return partitions_tick(settings, _chain.parquet_dir, context.instance)


@dg.schedule(name="ingest_schedule", job=ingest_job, cron_schedule="*/5 * * * *",
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="ingest_job every 5 minutes when there is something to do; a tick with nothing new (no "
                         "new block, no reorg, the warehouse as published) or with a run in progress makes no run "
                         "and says why in the tick history (pipelines.ingest.schedule).")
def ingest_schedule(context: dg.ScheduleEvaluationContext):
    # The settings as a run would load them, read again every tick (a bad one fails the tick with its one-line
    # message, shown in the tick history; the code location still loads).
    settings = OysterConfig(config_file=_oyster.config_file).settings()
    return decide(settings, _chain.parquet_dir, context.log)


defs = dg.Definitions(
    assets=dg.load_assets_from_modules([backfill, ingest_assets, state_assets, marts_assets, dashboard_assets, audits_assets,
                                        publish_assets]),
    jobs=[ingest_job, backfill_job],
    schedules=[ingest_schedule],
    sensors=[continue_after_backfill, block_range_partitions],
    executor=dg.in_process_executor,  # every job, ad-hoc materializations and UI backfills too
    # run_lock: set up before warehouse (Dagster sets up a level of resources in name order), so a run waiting
    # for another does not open the warehouse file while that run writes
    resources={"oyster": _oyster, "chain": _chain, "warehouse": Warehouse(config=_oyster),
               "run_lock": WriterRun(config=_oyster)},
)
