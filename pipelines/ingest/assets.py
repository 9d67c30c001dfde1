"""Ingestion assets: the raw_logs step (chain -> raw_logs and the ingestion tables, by block range) and the
event_tables step (raw -> one asset per events_<name> table, quarantine and the decoded_logs view).

raw_logs decides whether a run has anything to do: when no block landed since the last run (and no reorg, no
landing file continues the warehouse, and the private warehouse is what was last published) it yields no
materialization, so every step after it (decode, replay, marts, dashboard, their checks, publication) is skipped
and a scheduled run costs a head request.  It lands the backfill's files (landed_logs, pipelines.ingest.backfill)
before asking the node, and adds the block-range partition keys the head has reached.
"""
import dagster as dg

from ..chain.resources import ChainSource
from ..core.catalog import check_result, materialize, table_spec
from ..core.publish import WriterRun, unpublished
from ..core.quality import check_scope, full_checks_requested, mark_checked, sql_check, stop_worker, warm_up
from ..core.resources import OysterConfig, Warehouse
from ..core.store import get_state, reader
from .backfill import LANDED, add_keys, backfill_fetching, land_with_landing, landing_files, next_file
from .ingest import EVENT_TABLES, check_reorg, decode

WRITER_POOL = "duckdb_writer"  # one writer at a time (DuckDB allows one writing process per file)
# written by the raw_logs step (warehouse_identity by the run's preflight, reported with it)
INGESTION_TABLES = ("raw_logs", "instruments", "block_hashes", "ingested_ranges", "ingestion_state", "reorgs",
                    "warehouse_identity")
DECODED_TABLES = (*EVENT_TABLES, "quarantine", "decoded_logs")  # the decode step; decoded_logs is a view


def nothing_new(db_path: str, source, s) -> str | None:
    """Why this run can stop after raw_logs, or None when it has work.  Read-only: a run with nothing new does not
    touch the warehouse file.  A landing file that continues the warehouse is work; blocks a backfill is fetching
    (its lock held in the landing folder) are not, until their file is there."""
    if unpublished(db_path):
        return None
    try:
        with reader(db_path) as con:
            covered = int(get_state(con, "covered_to", str(s.start_block - 1)))
            decoded = int(get_state(con, "decoded_to", "-1"))
            if next_file(landing_files(s.landing_dir), covered) is not None:
                return None
            target = source.head() - s.confirmations
            waiting = covered < target and backfill_fetching(s.landing_dir)
            if (covered < target and not waiting) or decoded < covered:
                return None
            if check_reorg(con, source, s.reorg_window) is not None:  # hashes differ: it tries to repair, and
                return None  # cannot on a read-only connection (raises); either way, the writer repairs it
    except Exception:  # noqa: BLE001 - a reorg repair refused read-only, a file being written: do the full run
        return None
    if waiting:
        return (f"nothing new to land: blocks up to {covered} are landed and published; a backfill is fetching "
                f"block ranges into {s.landing_dir} (head {target + s.confirmations}): the blocks after {covered} "
                "land when their file is there")
    return (f"nothing new: blocks up to {covered} are landed (head {target + s.confirmations}, "
            f"{s.confirmations} confirmations) and published")


def _spec(asset: str, name: str, description: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description)


def _sql(con, asset: str, name: str, check: str, scope) -> dg.AssetCheckResult:
    return check_result(sql_check(con, check, scope), asset, name)


# The SQL checks of an asset run in its own step (check_specs), on the writer's connection: one step per asset,
# not one per check (every step costs a scheduled run event-log writes, even when it is skipped).
@dg.multi_asset(
    name="raw_logs",
    # raw_logs lands landed_logs' files: lineage only (no input is loaded), so an ingest_job run, which does not
    # select landed_logs, is never held back by its partitions
    specs=[table_spec(t, "ingestion", deps=[LANDED] if t == "raw_logs" else ()) for t in INGESTION_TABLES],
    check_specs=[_spec("raw_logs", "raw_logs_cover_without_gaps", "Landed block ranges leave no gap."),
                 _spec("raw_logs", "raw_logs_are_unique", "Each log landed once.")],
    pool=WRITER_POOL, can_subset=True)  # can_subset: its outputs are optional, so it may yield nothing
def raw_logs(context: dg.AssetExecutionContext, oyster: OysterConfig, chain: ChainSource, warehouse: Warehouse,
             run_lock: WriterRun):
    s = oyster.settings()
    context.log.info(f"chain {s.chain} via {s.safe_rpc_url}, DuckDB {s.duckdb_path}")
    warm_up()  # the replay's Great Expectations suites: imported while this step starts the node and lands
    with chain.open() as source:
        if not chain.parquet_dir:  # the block-range partitions the head has reached (landed_logs, the backfill)
            try:
                added = add_keys(context.instance, s, source.head())
                if added:
                    context.log.info(f"{len(added)} block-range partitions added ({added[0]} .. {added[-1]})")
            except Exception as e:  # noqa: BLE001 - the instance's storage: never a reason to stop ingesting
                context.log.warning(f"block-range partitions not added: {type(e).__name__}: {e}")
        idle = nothing_new(s.duckdb_path, source, s)
        if idle:
            context.log.info(f"{idle}: skipping decode, replay, marts, dashboard, checks and publication")
            stop_worker()
            return
        with warehouse.writer() as con:
            # the backfill's landing files that continue the warehouse, then the node (progress lines at most
            # every 10 s)
            r = land_with_landing(con, source, s, report=context.log.info)
            changed = [b for b in (r.from_block if r.from_block <= r.to_block else None, r.reorg_from) if b is not None]
            scope = check_scope(con, "raw_logs", min(changed, default=None), full_checks_requested(context))
            checks = [_sql(con, "raw_logs", "raw_logs_cover_without_gaps", "coverage_gaps", scope),
                      _sql(con, "raw_logs", "raw_logs_are_unique", "duplicate_logs", scope)]
            mark_checked(con, "raw_logs", int(get_state(con, "covered_to", "-1")), checks, ran_all=True)
            landed = {"new_logs": r.logs, "instruments": r.instruments, **r.progress}
            if r.from_block <= r.to_block:
                landed |= {"from_block": r.from_block, "to_block": r.to_block}
            if r.reorg_from is not None:
                landed["reorg_from"] = r.reorg_from
            tables = [t for t in INGESTION_TABLES if dg.AssetKey(t) in context.selected_asset_keys]
            yield from materialize(con, tables, {"raw_logs": landed})
    if r.reorg_from is not None:
        context.log.warning(f"reorg repaired from block {r.reorg_from}")
    selected = context.selected_asset_check_keys
    yield from (c for c in checks if dg.AssetCheckKey(c.asset_key, c.check_name) in selected)


def _decoded_since(con, block: int) -> int:
    """Logs decoded (into an events table or quarantine) in blocks after `block`, up to the decoded_to cursor."""
    q = ("SELECT (SELECT count(*) FROM decoded_logs WHERE block_number > $b AND block_number <= $to) + "
         "(SELECT count(*) FROM quarantine WHERE block_number > $b AND block_number <= $to)")
    return con.execute(q, {"b": block, "to": int(get_state(con, "decoded_to", "-1"))}).fetchall()[0][0]


def _landed_from(context: dg.AssetExecutionContext) -> int | None:
    """The first block this run's raw_logs step landed (its logs were decoded as they landed), if it ran."""
    ev = context.instance.get_latest_materialization_event(dg.AssetKey("raw_logs"))
    if ev is None or ev.run_id != context.run.run_id:
        return None
    v = ev.asset_materialization.metadata.get("from_block")
    return int(v.value) if v is not None else None


@dg.multi_asset(
    name="event_tables",
    specs=[table_spec(t, "ingestion", deps=["raw_logs"]) for t in (*EVENT_TABLES, "quarantine")]
    + [table_spec("decoded_logs", "ingestion", deps=[*EVENT_TABLES])],
    check_specs=[_spec("decoded_logs", "logs_decoded_once", "Each landed log is decoded into exactly one events table "
                       "or quarantined, once."),
                 _spec("quarantine", "no_quarantined_logs", "No log was quarantined.", blocking=False)],
    pool=WRITER_POOL, can_subset=True)
def event_tables(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """One typed table per protocol event (events_<name>); bad logs go to `quarantine`.  Logs are decoded as they
    land (in the raw_logs step); this step decodes whatever lags behind and reports what the run decoded."""
    with warehouse.writer() as con:
        before = int(get_state(con, "decoded_to", "-1"))
        decode(con)
        landed = _landed_from(context)
        since = before if landed is None else min(before, landed - 1)
        decoded = _decoded_since(con, since)
        quarantined = con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()
        tables = [t for t in DECODED_TABLES if dg.AssetKey(t) in context.selected_asset_keys]
        yield from materialize(con, tables, {"decoded_logs": {"decoded_this_run": decoded},
                                             "quarantine": {"reasons": str(quarantined[:20])}})
        # a reorg deletes decoded rows from its fork, below `since` only if landing started there too
        scope = check_scope(con, "decode", since + 1, full_checks_requested(context))
        checks = [_sql(con, "decoded_logs", "logs_decoded_once", "logs_decoded_once", scope),
                  dg.AssetCheckResult(asset_key="quarantine", check_name="no_quarantined_logs",
                                      passed=not quarantined, severity=dg.AssetCheckSeverity.WARN,
                                      metadata={"quarantined": sum(c for _, c in quarantined),
                                                "reasons": str(quarantined[:20])})]
        mark_checked(con, "decode", int(get_state(con, "decoded_to", "-1")), checks[:1], ran_all=True)
    context.log.info(f"{decoded} logs decoded by this run, {sum(c for _, c in quarantined)} quarantined in all")
    selected = context.selected_asset_check_keys
    yield from (c for c in checks if dg.AssetCheckKey(c.asset_key, c.check_name) in selected)
