"""Ingestion assets: raw_logs (chain -> DuckDB by block range) and event_tables (raw -> events_<name>).

raw_logs decides whether a run has anything to do: when no block landed since the last run (and no reorg, and
the private warehouse is what was last published) it yields no materialization, so every step after it (decode,
replay, marts, dashboard, their checks, publication) is skipped and a scheduled run costs a head request.
"""
import dagster as dg

from ..ingest import EVENT_TABLES, check_reorg, decode, land
from ..publish import WriterRun, unpublished
from ..quality import sql_check
from ..resources import ChainSource, OysterConfig, Warehouse
from ..store import get_state, reader

WRITER_POOL = "duckdb_writer"  # one writer at a time (DuckDB allows one writing process per file)


def nothing_new(db_path: str, source, s) -> str | None:
    """Why this run can stop after raw_logs, or None when it has work.  Read-only: a run with nothing new does not
    touch the warehouse file."""
    if unpublished(db_path):
        return None
    try:
        with reader(db_path) as con:
            covered = int(get_state(con, "covered_to", str(s.start_block - 1)))
            decoded = int(get_state(con, "decoded_to", "-1"))
            target = source.head() - s.confirmations
            if covered < target or decoded < covered:
                return None
            if check_reorg(con, source, s.reorg_window) is not None:  # hashes differ: it tries to repair, and
                return None  # cannot on a read-only connection (raises); either way, the writer repairs it
    except Exception:  # noqa: BLE001 - a reorg repair refused read-only, a file being written: do the full run
        return None
    return (f"nothing new: blocks up to {covered} are landed (head {target + s.confirmations}, "
            f"{s.confirmations} confirmations) and published")


def _spec(asset: str, name: str, description: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=description)


def _sql(con, name: str, check: str) -> dg.AssetCheckResult:
    r = sql_check(con, check)
    return dg.AssetCheckResult(check_name=name, passed=r.passed, metadata=r.metadata)


# The SQL checks of an asset run in its own step (check_specs), on the writer's connection: one step per asset,
# not one per check (every step costs a scheduled run event-log writes, even when it is skipped).
@dg.multi_asset(
    specs=[dg.AssetSpec("raw_logs", group_name="ingestion", kinds={"duckdb"},
                        description="Every log of Gate, Config, the markets and every instrument, by block range; "
                                    "reorg-aware. Not materialized when nothing new landed (the rest of the run is "
                                    "then skipped).")],
    check_specs=[_spec("raw_logs", "raw_logs_cover_without_gaps", "Landed block ranges leave no gap."),
                 _spec("raw_logs", "raw_logs_are_unique", "Each log landed once.")],
    pool=WRITER_POOL, can_subset=True)  # can_subset: its outputs are optional, so it may yield nothing
def raw_logs(context: dg.AssetExecutionContext, oyster: OysterConfig, chain: ChainSource, warehouse: Warehouse,
             run_lock: WriterRun):
    s = oyster.settings()
    context.log.info(f"chain {s.chain} via {s.safe_rpc_url}, DuckDB {s.duckdb_path}")
    with chain.open() as source:
        idle = nothing_new(s.duckdb_path, source, s)
        if idle:
            context.log.info(f"{idle}: skipping decode, replay, marts, dashboard, checks and publication")
            return
        with warehouse.writer() as con:
            r = land(con, source, s)
            total = con.execute("SELECT count(*) FROM raw_logs").fetchall()[0][0]
            checks = [_sql(con, "raw_logs_cover_without_gaps", "coverage_gaps"),
                      _sql(con, "raw_logs_are_unique", "duplicate_logs")]
    if r.reorg_from is not None:
        context.log.warning(f"reorg repaired from block {r.reorg_from}")
    yield dg.MaterializeResult(metadata={"from_block": r.from_block, "to_block": r.to_block, "new_logs": r.logs,
                                         "total_logs": total, "instruments": r.instruments,
                                         "reorg_from": r.reorg_from if r.reorg_from is not None else -1},
                               check_results=checks)


@dg.asset(group_name="ingestion", deps=[raw_logs], pool=WRITER_POOL, kinds={"duckdb"},
          check_specs=[_spec("event_tables", "logs_decoded_once", "Each landed log is decoded into exactly one "
                             "events table or quarantined, once."),
                       _spec("event_tables", "no_quarantined_logs", "No log was quarantined.", blocking=False)],
          description="One typed table per protocol event (events_<name>); bad logs go to `quarantine`.")
def event_tables(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        n = decode(con)
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in EVENT_TABLES}
        quarantined = con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()
        checks = [_sql(con, "logs_decoded_once", "logs_decoded_once"),
                  dg.AssetCheckResult(check_name="no_quarantined_logs", passed=not quarantined,
                                      severity=dg.AssetCheckSeverity.WARN,
                                      metadata={"reasons": str(quarantined[:20])})]
    return dg.MaterializeResult(metadata={"decoded_logs": n, "quarantined": sum(c for _, c in quarantined),
                                          **{t: c for t, c in counts.items() if c}}, check_results=checks)
