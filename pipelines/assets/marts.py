"""Mart assets: peer volumes, then every sql/marts/*.sql file in order (each states its definition and method
version in its header)."""
import dagster as dg

from .. import peers
from ..publish import WriterRun
from ..resources import OysterConfig, Warehouse
from ..store import SQL_DIR, insert_frame
from .ingestion import WRITER_POOL, raw_logs
from .state import replay

PEER_DDL = ("CREATE TABLE IF NOT EXISTS peer_volumes (day DATE NOT NULL, protocol VARCHAR NOT NULL, "
            "volume_usd DOUBLE, source VARCHAR NOT NULL)")


class PeerConfig(dg.Config):
    online: bool = False  # ask DefiLlama's API first (the file is the fallback); off here: no internet
    file: str = str(peers.SAMPLE)


@dg.asset(group_name="marts", deps=[raw_logs], pool=WRITER_POOL, kinds={"duckdb"},
          description="Peer derivatives volumes (DefiLlama overview format) with their source; refreshed by the "
                      "runs that land new blocks.")
def peer_volumes(context: dg.AssetExecutionContext, config: PeerConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    frame = peers.load(peers.API if config.online else None, config.file)
    with warehouse.writer() as con:
        con.execute(PEER_DDL)
        con.execute("DELETE FROM peer_volumes")
        insert_frame(con, "peer_volumes", frame, replace=False)
    return dg.MaterializeResult(metadata={"rows": frame.height, "source": frame["source"][0] if frame.height else ""})


def build_marts(con) -> list[str]:
    con.execute(PEER_DDL)
    done = []
    for f in sorted((SQL_DIR / "marts").glob("*.sql")):
        con.execute(f.read_text())
        done.append(f.name)
    return done


@dg.asset(group_name="marts", deps=[replay, peer_volumes], pool=WRITER_POOL, kinds={"duckdb"},
          automation_condition=dg.AutomationCondition.eager(),
          check_specs=[dg.AssetCheckSpec("mart_volume_matches_events", asset="marts", blocking=True,
                                         description="Mart taker volume equals the sum of entryNotional over "
                                                     "events_trade, to the wei."),
                       dg.AssetCheckSpec("fee_split_adds_up", asset="marts", blocking=True,
                                         description="Taker fee = maker rebates + LP fee + protocol fee, trade by "
                                                     "trade.")],
          description="Volume, fees, open interest, funding, liquidations, depth, TVL and market-share marts "
                      "(sql/marts/*.sql); its checks run in the same step.")
def marts(context: dg.AssetExecutionContext, oyster: OysterConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.writer() as con:
        files = build_marts(con)
        days = con.execute("SELECT count(*) FROM mart_volume_daily_protocol").fetchall()[0][0]
        checks = [mart_volume_matches_events(con), fee_split_adds_up(con)]
    return dg.MaterializeResult(metadata={"files": ", ".join(files), "days": days}, check_results=checks)


def mart_volume_matches_events(con) -> dg.AssetCheckResult:
    a, b = con.execute("SELECT (SELECT sum(taker_volume_wad) FROM mart_volume_hourly), "
                       "(SELECT sum(entry_notional::HUGEINT) FROM events_trade)").fetchall()[0]
    return dg.AssetCheckResult(check_name="mart_volume_matches_events", passed=a == b,
                               metadata={"mart": str(a), "events": str(b)})


def fee_split_adds_up(con) -> dg.AssetCheckResult:
    bad = con.execute("SELECT count(*) FROM fact_trades WHERE taker_fee_wad <> maker_fee_wad + lp_fee_wad + "
                      "protocol_fee_wad OR taker_fee_wad IS NULL").fetchall()[0][0]
    return dg.AssetCheckResult(check_name="fee_split_adds_up", passed=bad == 0, metadata={"offending_trades": bad})


@dg.asset(group_name="marts", deps=[marts], pool=WRITER_POOL, kinds={"html"},
          automation_condition=dg.AutomationCondition.eager(),
          description="The SQL dashboard (sql/dashboard/*.sql) rendered to dashboard.html beside the DuckDB file, "
                      "which it opens read-only.")
def dashboard(context: dg.AssetExecutionContext, oyster: OysterConfig) -> dg.MaterializeResult:
    from pathlib import Path

    from ..dashboard import render
    db = oyster.settings().duckdb_path
    out = Path(db).with_name("dashboard.html")  # beside the DuckDB file
    counts = render(db, out)
    empty = [k for k, n in counts.items() if not n]
    if empty:
        context.log.warning(f"panels without data: {empty}")
    return dg.MaterializeResult(metadata={"path": str(out), "panels": len(counts), "empty_panels": str(empty)})


class AuditConfig(dg.Config):
    trader: str = ""  # an owner address: audit all its ranges
    range: str = ""  # or one range: instrument:owner:tick_lower:tick_upper


@dg.asset(group_name="audits", deps=[replay], pool=WRITER_POOL, kinds={"duckdb", "html"},
          description="LP performance audit of a trader or a range (run config): rows in lp_audit_ranges and "
                      "lp_audit_series, and an HTML report beside the DuckDB file.")
def lp_audit(context: dg.AssetExecutionContext, config: AuditConfig, oyster: OysterConfig,
             warehouse: Warehouse, run_lock: WriterRun) -> dg.MaterializeResult:
    from pathlib import Path

    from ..lp_audit import AuditInputError, Target, audit, report
    try:
        target = Target.parse(config.trader or None, config.range or None)
    except AuditInputError as e:
        raise dg.Failure(description=f"lp_audit config: {e}") from None
    with warehouse.writer() as con:
        try:
            audit_id, rows, series = audit(con, target)
        except AuditInputError as e:
            raise dg.Failure(description=str(e)) from None
    out = Path(oyster.settings().duckdb_path).parent / "audits" / f"{audit_id}.html"
    report(audit_id, target, rows, series, out)
    return dg.MaterializeResult(metadata={"audit_id": audit_id, "ranges": rows.height, "report": str(out),
                                          "fees_quote": float(rows["fees_quote"].sum())})
