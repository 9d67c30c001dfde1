"""The code location: resources, assets, checks, jobs and schedules.

Jobs run on the in-process executor (one process for the whole run, each library imported once).  Only the
parallel backfill uses processes.  The schedule asks first whether there is anything to do
(pipelines.ingest.schedule): a tick with nothing new makes no run, its reason shown in the tick history; a run
started by hand with nothing new still stops after raw_logs.
"""
import dagster as dg

from .audits import assets as audits_assets
from .chain.resources import ChainSource
from .core.publish import WriterRun
from .core.resources import OysterConfig, Warehouse
from .dashboard import assets as dashboard_assets
from .ingest import assets as ingest_assets
from .ingest.backfill import backfill_job
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

@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[backfill_job], request_job=ingest_job,
                      default_status=dg.DefaultSensorStatus.RUNNING,
                      description="After a successful backfill, ingest_job replays what it landed, checks it and "
                                  "publishes it (where a Dagster daemon runs; otherwise run ingest_job by hand).")
def continue_after_backfill(context: dg.RunStatusSensorContext):
    return dg.RunRequest(run_key=f"after-backfill-{context.dagster_run.run_id}")


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
    assets=dg.load_assets_from_modules([ingest_assets, state_assets, marts_assets, dashboard_assets, audits_assets,
                                        publish_assets]),
    jobs=[ingest_job, backfill_job],
    schedules=[ingest_schedule],
    sensors=[continue_after_backfill],
    executor=dg.in_process_executor,  # ad-hoc materializations too (backfill_job sets its own)
    # run_lock: set up before warehouse (Dagster sets up a level of resources in name order), so a run waiting
    # for another does not open the warehouse file while that run writes
    resources={"oyster": _oyster, "chain": _chain, "warehouse": Warehouse(config=_oyster),
               "run_lock": WriterRun(config=_oyster)},
)
