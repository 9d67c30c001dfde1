"""The LP audit asset: lp_audit_ranges and lp_audit_series for a trader, a range or every LP (run config), and an HTML
report beside the DuckDB file (pipelines/audits/lp_audit.py)."""
import dagster as dg

from ..core.catalog import materialize, table_spec
from ..core.publish import WriterRun
from ..core.resources import OysterConfig, Warehouse
from ..ingest.assets import WRITER_POOL

AUDIT_TABLES = ("lp_audit_ranges", "lp_audit_series")


class AuditConfig(dg.Config):
    trader: str = ""  # an owner address: audit all its ranges
    range: str = ""  # or one range: instrument:owner:tick_lower:tick_upper
    every_lp: bool = False  # or every range of every LP (386 ranges on the default devnet: ~7 s, a 16 MB report)


AUDIT_READS = ("lp_ranges", "instruments", "amm_snapshots", "fills", "events_withdraw_range_fee", "dim_instruments",
               "mart_quote_prices_hourly")
NO_TARGET = ("no audit target configured: nothing audited. Set the run config of op `lp_audit` to "
             "{\"trader\": \"0x…\"}, {\"range\": \"<instrument>:<owner>:<tick_lower>:<tick_upper>\"} or "
             "{\"every_lp\": true}")


@dg.multi_asset(
    name="lp_audit", pool=WRITER_POOL, can_subset=True,  # can_subset: with no target it materializes nothing
    specs=[table_spec(t, "audits", deps=AUDIT_READS, kinds=("duckdb", "html")) for t in AUDIT_TABLES])
def lp_audit(context: dg.AssetExecutionContext, config: AuditConfig, oyster: OysterConfig,
             warehouse: Warehouse, run_lock: WriterRun):
    """LP performance audit of a trader, a range or every LP (run config): rows in lp_audit_ranges and
    lp_audit_series, an HTML report beside the DuckDB file.  With no target (as "Materialize all" runs it) it
    audits nothing, says so in the log and in an observation of both tables, and succeeds."""
    from pathlib import Path

    from .lp_audit import AuditInputError, Target, audit, report
    if not (config.trader or config.range or config.every_lp):
        context.log.info(f"lp_audit: {NO_TARGET}")
        for t in sorted(k.to_user_string() for k in context.selected_asset_keys):
            context.log_event(dg.AssetObservation(asset_key=t, metadata={"skipped": NO_TARGET}))
        return
    try:
        target = Target() if config.every_lp and not (config.trader or config.range) else \
            Target.parse(config.trader or None, config.range or None)
    except AuditInputError as e:
        raise dg.Failure(description=f"lp_audit config: {e}") from None
    with warehouse.writer() as con:
        try:
            audit_id, rows, series = audit(con, target)
        except AuditInputError as e:
            raise dg.Failure(description=str(e)) from None
        out = Path(oyster.settings().duckdb_path).parent / "audits" / f"{audit_id}.html"
        report(audit_id, target, rows, series, out)
        this = {"audit_id": audit_id, "target": target.describe(), "report": dg.MetadataValue.path(str(out))}
        counts = dict(con.execute("SELECT 'lp_audit_ranges', count(*) FROM lp_audit_ranges WHERE audit_id = $a "
                                  "UNION ALL SELECT 'lp_audit_series', count(*) FROM lp_audit_series "
                                  "WHERE audit_id = $a", {"a": audit_id}).fetchall())
        fees = float(rows["fees_quote"].sum()) if rows.height else 0.0
        extra = {"lp_audit_ranges": {**this, "ranges": counts["lp_audit_ranges"], "fees_quote": fees},
                 "lp_audit_series": {**this, "points": counts["lp_audit_series"]}}
        tables = [t for t in AUDIT_TABLES if dg.AssetKey(t) in context.selected_asset_keys]
        yield from materialize(con, tables, extra)
