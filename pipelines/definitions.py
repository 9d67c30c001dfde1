"""The code location: resources, assets, checks, jobs and schedules."""
import dagster as dg

from .assets import ingestion, marts, state
from .backfill import backfill_job
from .resources import ChainSource, OysterConfig, Warehouse

_oyster = OysterConfig()

ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.groups("ingestion", "state", "marts"),
                                 description="The main job: land new logs, decode them, replay them into state, "
                                             "build the marts.")

ingest_schedule = dg.ScheduleDefinition(name="ingest_schedule", job=ingest_job, cron_schedule="*/5 * * * *",
                                        default_status=dg.DefaultScheduleStatus.STOPPED)

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingestion, state, marts]),
    asset_checks=dg.load_asset_checks_from_modules([ingestion, state, marts]),
    jobs=[ingest_job, backfill_job],
    schedules=[ingest_schedule],
    resources={"oyster": _oyster, "chain": ChainSource(config=_oyster), "warehouse": Warehouse(config=_oyster)},
)
