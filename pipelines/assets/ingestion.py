"""Ingestion assets: raw_logs (chain -> DuckDB by block range) and event_tables (raw -> events_<name>)."""
import dagster as dg

from ..ingest import EVENT_TABLES, decode, land
from ..quality import sql_asset_check
from ..resources import ChainSource, OysterConfig, Warehouse

WRITER_POOL = "duckdb_writer"  # one writer at a time (DuckDB allows one writing process per file)


@dg.asset(group_name="ingestion", pool=WRITER_POOL, kinds={"duckdb"},
          description="Every log of Gate, Config, the markets and every instrument, by block range; reorg-aware.")
def raw_logs(context: dg.AssetExecutionContext, oyster: OysterConfig, chain: ChainSource,
             warehouse: Warehouse) -> dg.MaterializeResult:
    s = oyster.settings()
    context.log.info(f"chain {s.chain} via {s.safe_rpc_url}, DuckDB {s.duckdb_path}")
    with chain.open() as source, warehouse.writer() as con:
        r = land(con, source, s)
        total = con.execute("SELECT count(*) FROM raw_logs").fetchall()[0][0]
    if r.reorg_from is not None:
        context.log.warning(f"reorg repaired from block {r.reorg_from}")
    return dg.MaterializeResult(metadata={"from_block": r.from_block, "to_block": r.to_block, "new_logs": r.logs,
                                          "total_logs": total, "instruments": r.instruments,
                                          "reorg_from": r.reorg_from if r.reorg_from is not None else -1})


@dg.asset(group_name="ingestion", deps=[raw_logs], pool=WRITER_POOL, kinds={"duckdb"},
          description="One typed table per protocol event (events_<name>); bad logs go to `quarantine`.")
def event_tables(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        n = decode(con)
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in EVENT_TABLES}
        quarantined = con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"decoded_logs": n, "quarantined": quarantined,
                                          **{t: c for t, c in counts.items() if c}})


raw_logs_cover_without_gaps = sql_asset_check(raw_logs, "raw_logs_cover_without_gaps", "coverage_gaps",
                                              "Landed block ranges leave no gap.")
raw_logs_are_unique = sql_asset_check(raw_logs, "raw_logs_are_unique", "duplicate_logs", "Each log landed once.")
logs_decoded_once = sql_asset_check(
    event_tables, "logs_decoded_once", "logs_decoded_once",
    "Each landed log is decoded into exactly one events table or quarantined, once.")


@dg.asset_check(asset=event_tables, blocking=False, description="No log was quarantined.")
def no_quarantined_logs(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.reader() as con:
        rows = con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 2 DESC").fetchall()
    return dg.AssetCheckResult(passed=not rows, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"reasons": str(rows[:20])})
