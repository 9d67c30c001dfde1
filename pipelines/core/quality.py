"""Data quality: Great Expectations 1.x suites per state table, run from Dagster asset checks.

GE is imported lazily (about 2 s) and used directly: an ephemeral context, a pandas data source with a
whole-dataframe batch, a suite built in code (docs/architecture.md: dagster-ge cannot install beside GE 1.x).  Whole-table
invariants that are clearer in SQL live in sql/checks/*.sql: each returns the offending rows.
"""
import os
from pathlib import Path

import dagster as dg

from models.constants import MAX_TICK, MIN_TICK


CHECKS_DIR = Path(__file__).resolve().parents[2] / "sql" / "checks"


def sql_check(con, name: str) -> dg.AssetCheckResult:
    rows = con.execute((CHECKS_DIR / f"{name}.sql").read_text()).fetchall()
    return dg.AssetCheckResult(passed=not rows, metadata={"offending_rows": len(rows), "sample": str(rows[:5])})


def _suites(gx):
    e = gx.expectations
    tick = dict(min_value=MIN_TICK, max_value=MAX_TICK)
    return {
        "amm_snapshots": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "expiry", "block_number",
                                                                               "ts", "sqrt_px96")]
        + [e.ExpectColumnValuesToBeBetween(column="tick", **tick),
           e.ExpectColumnValuesToBeBetween(column="fair_price_f", min_value=0, strict_min=True),
           e.ExpectColumnValuesToBeInSet(column="kind", value_set=["event", "hour"]),
           e.ExpectColumnValuesToBeInSet(column="status", value_set=[1, 2, 3])],
        "fills": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "trader", "kind", "size",
                                                                       "notional")]
        + [e.ExpectColumnValuesToBeInSet(column="kind", value_set=["MARKET", "LIMIT", "RANGE", "LIQUIDATION",
                                                                    "TAKE_OVER"]),
           e.ExpectColumnValuesToBeBetween(column="price_f", min_value=0, strict_min=True),
           e.ExpectColumnValuesToNotBeNull(column="block_number")],
        "orders": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "trader", "tick", "nonce",
                                                                        "status")]
        + [e.ExpectColumnValuesToBeBetween(column="tick", **tick),
           e.ExpectColumnValuesToBeInSet(column="status", value_set=["OPEN", "FILLED", "CANCELLED",
                                                                      "PARTIAL_CANCELLED"]),
           # an order id (instrument, expiry, trader, tick, nonce) may be placed again after it closed: a row is
           # keyed by its placing event (pipelines/state/state.py)
           e.ExpectCompoundColumnsToBeUnique(column_list=["instrument", "expiry", "trader", "tick", "nonce",
                                                          "placed_block", "placed_log_index"])],
        "lp_ranges": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "owner", "liquidity",
                                                                           "margin", "status")]
        + [e.ExpectColumnValuesToBeBetween(column="tick_lower", **tick),
           e.ExpectColumnValuesToBeBetween(column="tick_upper", **tick),
           e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="tick_upper", column_B="tick_lower"),
           e.ExpectColumnValuesToBeInSet(column="status", value_set=["OPEN", "REMOVED"]),
           e.ExpectColumnValuesToBeBetween(column="entry_price_f", min_value=0, strict_min=True)],
        "positions": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "trader", "balance", "size")],
        "pearl_snapshots": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "ts", "tick")]
        + [e.ExpectColumnValuesToBeBetween(column="tick", **tick),
           e.ExpectColumnValuesToBeBetween(column="price_f", min_value=0, strict_min=True),
           e.ExpectCompoundColumnsToBeUnique(column_list=["instrument", "expiry", "ts", "tick"])],
        "range_history": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "owner", "ts", "value")]
        + [e.ExpectColumnValuesToBeBetween(column="price_f", min_value=0, strict_min=True),
           e.ExpectCompoundColumnsToBeUnique(column_list=["instrument", "expiry", "owner", "tick_lower", "tick_upper",
                                                          "ts"])],
        "funding_index_series": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "ts",
                                                                                      "long_funding_index",
                                                                                      "short_funding_index")]
        + [e.ExpectColumnValuesToBeBetween(column="mark_f", min_value=0, strict_min=True)],
        "depth_snapshots": [e.ExpectColumnValuesToBeInSet(column="side", value_set=["up", "down"]),
                            e.ExpectColumnValuesToBeInSet(column="bps", value_set=[10, 50, 100, 200]),
                            e.ExpectColumnValuesToNotBeNull(column="quote")],
        "pair_hourly": [e.ExpectColumnValuesToNotBeNull(column=c) for c in ("instrument", "ts", "involved_fund")]
        + [e.ExpectCompoundColumnsToBeUnique(column_list=["instrument", "expiry", "ts"])],
    }


def ge_check(con, table: str) -> dg.AssetCheckResult:
    """Validate a table with its suite; the failed expectations come back as metadata."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx  # lazy: ~2 s to import
    import logging
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # HUGEINT reaches pandas as object/Decimal; the suites only look at keys, ticks, prices and text
    df = con.sql(f"SELECT * FROM {table}").df()
    if df.empty:
        return dg.AssetCheckResult(passed=True, metadata={"rows": 0})
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False}
    batch = (ctx.data_sources.add_pandas(f"{table}_src").add_dataframe_asset(table)
             .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name=f"{table}_suite", expectations=_suites(gx)[table])
    result = batch.validate(suite)
    failed = [r.expectation_config.type + " " + str(r.expectation_config.kwargs.get("column", "")) for r in
              result.results if not r.success]
    return dg.AssetCheckResult(passed=bool(result.success), metadata={"rows": len(df), "failed": str(failed),
                                                                       "evaluated": len(result.results)})
