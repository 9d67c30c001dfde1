"""LP performance audits: for an LP, or one of its ranges, the numbers a market maker judges a range by, computed
exactly from the replayed events (pipelines/audits/), stored in DuckDB (lp_audit_ranges, lp_audit_series) and
written as an HTML report whose "How to read this" section explains every number.

Entry points: `audit(con, Target.parse(trader, range_spec))`, `report(...)`, `list_text(con, trader, instrument)`
(the `audit list` command).  Inputs are validated, and reach SQL only as parameters.
"""
import uuid

import polars as pl

from .accounting import MIN_APR_HOURS, compute
from .data import data_end_ts, facts, list_text, load_ranges, quote_usd, resolve
from .report import METHOD_VERSION, report
from .target import AuditInputError, Target, range_id

__all__ = ["AuditInputError", "Target", "audit", "report", "list_text", "MIN_APR_HOURS"]

USD_OF = ("margin", "fees", "impermanent_loss", "pnl_vs_hold", "lvr")


def audit(con, target: Target) -> tuple[str, pl.DataFrame, dict]:
    """Runs the audit and stores its rows; returns (audit id, one row per range, {range id: (symbol, series)})."""
    target = resolve(con, target)
    ranges = load_ranges(con, target)
    end_of_data = data_end_ts(con)
    audit_id = uuid.uuid4().hex[:12]
    rows, series = [], {}
    for r in ranges:
        f, points = facts(con, r, end_of_data)
        res = compute(f, points, end_of_data)
        m = res.metrics
        if r["status"] == "REMOVED" and sum(w.fee for w in f.withdrawals) != int(r["fees_withdrawn"] or 0):
            m["reconciled"] = False
        usd, method = quote_usd(con, r["instrument"], f.end_ts)
        rid_ = range_id(r["added_block"], r["added_log_index"])
        sym = r["symbol"]
        row = {"audit_id": audit_id, "range_id": rid_, "instrument": r["instrument"], "symbol": sym,
               "quote_symbol": sym.split("-")[1] if sym.count("-") >= 1 else "quote", "expiry": r["expiry"],
               "owner": r["owner"], "tick_lower": r["tick_lower"], "tick_upper": r["tick_upper"],
               "added_block": r["added_block"], "added_log_index": r["added_log_index"], "status": r["status"],
               **m, "usd_per_quote": usd, "usd_method": method, "method_version": METHOD_VERSION}
        for k in USD_OF:
            q = row[f"{k}_quote"]
            row[f"{k}_usd"] = q * usd if usd is not None and q is not None else None
        rows.append(row)
        series[rid_] = (sym, pl.DataFrame(res.series, schema=SERIES_SCHEMA, orient="row") if res.series
                        else pl.DataFrame(schema=SERIES_SCHEMA))
    out = pl.DataFrame(rows, infer_schema_length=None)
    _insert(con, "lp_audit_ranges", out)
    for rid_, (_, s) in series.items():
        r = next(x for x in rows if x["range_id"] == rid_)
        if s.height:
            _insert(con, "lp_audit_series", s.select(
                pl.lit(audit_id).alias("audit_id"), pl.lit(r["instrument"]).alias("instrument"),
                pl.lit(r["owner"]).alias("owner"), pl.lit(r["tick_lower"]).alias("tick_lower"),
                pl.lit(r["tick_upper"]).alias("tick_upper"), pl.lit(r["added_block"]).alias("added_block"),
                pl.all()))
    return audit_id, out, series


SERIES_SCHEMA = {"ts": pl.Int64, "block_number": pl.Int64, "log_index": pl.Int64, "tick": pl.Int64,
                 "price": pl.Float64, "net_size": pl.Float64, "pnl_quote": pl.Float64, "fee_quote": pl.Float64,
                 "value_quote": pl.Float64, "hold_quote": pl.Float64, "in_range": pl.Boolean}


def _insert(con, table: str, frame: pl.DataFrame) -> None:
    con.register("_audit_rows", frame.to_arrow())
    try:
        cols = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _audit_rows")
    finally:
        con.unregister("_audit_rows")
