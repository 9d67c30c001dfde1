"""The Great Expectations suites of the state tables, and a worker process that validates with them.

Importing GE costs ~5 s of one CPU (pandas, scipy, altair).  A run with new data starts this worker first
(`pipelines.core.quality.warm_up`): it imports GE on another CPU while the run lands, decodes and replays, then
validates the rows the replay step sends it (a Parquet file a request, an answer a line of JSON).  A thread in
the run's process does not help: the import holds the GIL the run needs (measured: the same wall time).

The suites are data (expectation class, arguments) so the run can select just the columns they read without
importing GE.  This module imports nothing of dagster: the worker starts in ~0.1 s plus GE's import.

    python -m pipelines.core.ge_worker     # reads {"table", "path"} lines on stdin, answers on stdout
"""
import json
import logging
import os
import sys

from models.constants import MAX_TICK, MIN_TICK

_TICK = {"min_value": MIN_TICK, "max_value": MAX_TICK}
_POSITIVE = {"min_value": 0, "strict_min": True}


def _not_null(*columns) -> list[tuple[str, dict]]:
    return [("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


SUITES: dict[str, list[tuple[str, dict]]] = {
    "amm_snapshots": _not_null("instrument", "expiry", "block_number", "ts", "sqrt_px96") + [
        ("ExpectColumnValuesToBeBetween", {"column": "tick", **_TICK}),
        ("ExpectColumnValuesToBeBetween", {"column": "fair_price_f", **_POSITIVE}),
        ("ExpectColumnValuesToBeInSet", {"column": "kind", "value_set": ["event", "hour"]}),
        ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": [1, 2, 3]})],
    "fills": _not_null("instrument", "trader", "kind", "size", "notional") + [
        ("ExpectColumnValuesToBeInSet", {"column": "kind", "value_set": ["MARKET", "LIMIT", "RANGE", "LIQUIDATION",
                                                                         "TAKE_OVER"]}),
        ("ExpectColumnValuesToBeBetween", {"column": "price_f", **_POSITIVE}),
        ("ExpectColumnValuesToNotBeNull", {"column": "block_number"})],
    "orders": _not_null("instrument", "trader", "tick", "nonce", "status") + [
        ("ExpectColumnValuesToBeBetween", {"column": "tick", **_TICK}),
        ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["OPEN", "FILLED", "CANCELLED",
                                                                           "PARTIAL_CANCELLED"]}),
        # an order id (instrument, expiry, trader, tick, nonce) may be placed again after it closed: a row is
        # keyed by its placing event (pipelines/state/state.py)
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["instrument", "expiry", "trader", "tick", "nonce",
                                                             "placed_block", "placed_log_index"]})],
    "lp_ranges": _not_null("instrument", "owner", "liquidity", "margin", "status") + [
        ("ExpectColumnValuesToBeBetween", {"column": "tick_lower", **_TICK}),
        ("ExpectColumnValuesToBeBetween", {"column": "tick_upper", **_TICK}),
        ("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": "tick_upper", "column_B": "tick_lower"}),
        ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["OPEN", "REMOVED"]}),
        ("ExpectColumnValuesToBeBetween", {"column": "entry_price_f", **_POSITIVE})],
    "positions": _not_null("instrument", "trader", "balance", "size"),
    "pearl_snapshots": _not_null("instrument", "ts", "tick") + [
        ("ExpectColumnValuesToBeBetween", {"column": "tick", **_TICK}),
        ("ExpectColumnValuesToBeBetween", {"column": "price_f", **_POSITIVE}),
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["instrument", "expiry", "ts", "tick"]})],
    "range_history": _not_null("instrument", "owner", "ts", "value") + [
        ("ExpectColumnValuesToBeBetween", {"column": "price_f", **_POSITIVE}),
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["instrument", "expiry", "owner", "tick_lower",
                                                             "tick_upper", "ts"]})],
    "funding_index_series": _not_null("instrument", "ts", "long_funding_index", "short_funding_index") + [
        ("ExpectColumnValuesToBeBetween", {"column": "mark_f", **_POSITIVE})],
    "depth_snapshots": [("ExpectColumnValuesToBeInSet", {"column": "side", "value_set": ["up", "down"]}),
                        ("ExpectColumnValuesToBeInSet", {"column": "bps", "value_set": [10, 50, 100, 200]}),
                        ("ExpectColumnValuesToNotBeNull", {"column": "quote"})],
    "pair_hourly": _not_null("instrument", "ts", "involved_fund") + [
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["instrument", "expiry", "ts"]})],
}


def columns(table: str) -> list[str]:
    """The columns a table's suite reads (all a validation needs to be sent)."""
    out: list[str] = []
    for _, kw in SUITES[table]:
        for c in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *kw.get("column_list", [])]:
            if c and c not in out:
                out.append(c)
    return out


def import_ge():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    return gx


def validate(gx, table: str, df) -> dict:
    """Run the table's suite on a pandas frame: {"success", "failed" (expectation and column), "evaluated"}."""
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False}
    batch = (ctx.data_sources.add_pandas(f"{table}_src").add_dataframe_asset(table)
             .add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df}))
    suite = gx.ExpectationSuite(name=f"{table}_suite",
                                expectations=[getattr(gx.expectations, k)(**kw) for k, kw in SUITES[table]])
    result = batch.validate(suite)
    failed = [r.expectation_config.type + " " + str(r.expectation_config.kwargs.get("column", ""))
              for r in result.results if not r.success]
    return {"success": bool(result.success), "failed": failed, "evaluated": len(result.results)}


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything GE prints (importing included) must not mix with the answers
    gx = import_ge()
    import pandas as pd
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:  # EOF (the run closed the pipe, or died): exit
        req = json.loads(line)
        try:
            answer = validate(gx, req["table"], pd.read_parquet(req["path"]))
        except Exception as e:  # noqa: BLE001 - the run falls back to validating in its own process
            answer = {"error": f"{type(e).__name__}: {e}"[:500]}
        print(json.dumps(answer), file=out, flush=True)


if __name__ == "__main__":
    main()
