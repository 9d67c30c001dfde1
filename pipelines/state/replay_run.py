"""One replay run: events after the last checkpoint -> state tables, then a new checkpoint.

Runs cover whole blocks (up to `decoded_to`), so a checkpoint's cursor block separates the rows it produced
from later ones.  After a reorg (ingestion_state.reorg_from), the newest checkpoint before the changed block is
restored and the rows after it are deleted before replaying again.  `full=True` rebuilds from genesis.
Every divergence is written with its size and class (models/divergence.py); rows of a warehouse written before
the classes existed are classified on the next run.
"""
import heapq
import logging
import time
from dataclasses import dataclass

import polars as pl

from models.divergence import classify
from models.replay import Replayer, StaleCheckpoint

from ..core.store import get_state, insert_frame, set_state
from .state import INT_TEXT, ORDER_COLS, RANGE_COLS, REPLAYED_TABLES, TABLE_EVENT, StateBuilder

log = logging.getLogger(__name__)

STATE_TABLES = ("amm_snapshots", "pearl_snapshots", "range_history", "positions", "fills", "funding_index_series",
                "replay_divergences", "depth_snapshots", "pair_hourly")
ROW_COLS = {
    "amm_snapshots": ["instrument", "expiry", "kind", "block_number", "tx_index", "log_index", "ts", "status",
                      "tick", "sqrt_px96", "fair_price_f", "mark_f", "liquidity", "total_liquidity", "total_long",
                      "total_short", "open_interests", "involved_fund", "fee_index", "protocol_fee",
                      "long_funding_index", "short_funding_index", "long_social_loss_index",
                      "short_social_loss_index", "insurance_fund", "settlement_price"],
    "pearl_snapshots": ["instrument", "expiry", "ts", "block_number", "tick", "price_f", "liquidity_gross",
                        "liquidity_net", "resting_size", "nonce"],
    "range_history": ["instrument", "expiry", "owner", "tick_lower", "tick_upper", "ts", "block_number", "in_range",
                      "net_size", "pnl", "fee", "value", "price_f"],
    "positions": ["instrument", "expiry", "trader", "block_number", "tx_index", "log_index", "ts", "balance", "size",
                  "entry_notional", "entry_social_loss_index", "entry_funding_index"],
    "fills": ["instrument", "expiry", "trader", "kind", "block_number", "tx_index", "log_index", "ts", "size",
              "notional", "fee", "taken_size", "curve_size", "maker_fee", "lp_fee", "protocol_fee", "tick", "nonce",
              "counterparty", "price_f"],
    "depth_snapshots": ["instrument", "expiry", "ts", "block_number", "side", "bps", "base", "quote"],
    "pair_hourly": ["instrument", "expiry", "ts", "block_number", "fair_price_f", "mark_f", "best_bid_f", "best_ask_f",
                    "lp_margin", "order_margin", "trader_margin", "insurance_fund", "involved_fund"],
    "funding_index_series": ["instrument", "block_number", "log_index", "ts", "long_funding_index",
                             "short_funding_index", "fair_price_f", "mark_f", "total_long", "total_short"],
    "orders": ORDER_COLS,
    "lp_ranges": RANGE_COLS,
}
HUGE = {"liquidity", "total_liquidity", "total_long", "total_short", "open_interests", "involved_fund", "fee_index",
        "protocol_fee", "long_funding_index", "short_funding_index", "long_social_loss_index",
        "short_social_loss_index", "insurance_fund", "settlement_price", "liquidity_gross", "liquidity_net",
        "resting_size", "net_size", "pnl", "fee", "value", "balance", "size", "entry_notional",
        "entry_social_loss_index", "entry_funding_index", "notional", "taken_size", "curve_size", "margin",
        "entry_fee_index", "fees_withdrawn", "fee_at_removal", "tip", "removal_size", "removal_balance",
        "filled_size", "maker_fee", "lp_fee", "base", "quote", "lp_margin", "order_margin", "trader_margin"}
CHECKPOINTS_KEPT = 20
HOURLY_TABLES = ("amm_snapshots", "pearl_snapshots", "range_history", "depth_snapshots", "pair_hourly")


@dataclass
class ReplayResult:
    events: int
    from_block: int
    to_block: int
    divergences: int
    seconds: float
    restored_from: int
    structural: int = 0  # of `divergences`: blocking ones
    rounding: int = 0  # of `divergences`: drift within the tolerance


def read_events(con, after_block: int, upto_block: int) -> list[dict]:
    """Replayed events of blocks (after_block, upto_block], merged in (block, tx, log) order, exact ints."""
    streams = []
    # one pass over the decoded_logs view (zone maps skip old row groups) names the tables worth a query
    present = {t for (t,) in con.execute("SELECT DISTINCT event_table FROM decoded_logs WHERE block_number > ? "
                                         "AND block_number <= ?", [after_block, upto_block]).fetchall()}
    for t in REPLAYED_TABLES:
        if t not in present:
            continue
        big = INT_TEXT[t]
        cols = "*" if not big else f"* EXCLUDE ({', '.join(big)}), " + ", ".join(f"CAST({c} AS VARCHAR) AS {c}"
                                                                                for c in big)
        df = con.sql(f"SELECT {cols} FROM {t} WHERE block_number > {after_block} AND block_number <= {upto_block} "
                     "ORDER BY block_number, tx_index, log_index").pl()
        if not df.height:
            continue
        df = df.with_columns(pl.lit(TABLE_EVENT[t]).alias("event"))
        rows = df.to_dicts()
        for r in rows:
            for c in big:
                v = r[c]
                if v is not None:
                    r[c] = int(v)
        streams.append([((r["block_number"], r["tx_index"], r["log_index"]), r) for r in rows])
    return [r for _, r in heapq.merge(*streams, key=lambda x: x[0])]


def _restore(con, reorg_from: int | None, full: bool):
    """(replayer, cursor block) from the newest usable checkpoint; rows after it are deleted."""
    if full:
        con.execute("DELETE FROM replay_checkpoints")
    q = "SELECT cursor_block, state FROM replay_checkpoints"
    if reorg_from is not None:
        q += f" WHERE cursor_block < {reorg_from}"
    rows = con.execute(q + " ORDER BY cursor_block DESC LIMIT 1").fetchall()
    block, r = -1, None
    if rows:
        try:
            block, r = rows[0][0], Replayer.from_checkpoint(bytes(rows[0][1]))
        except StaleCheckpoint as exc:
            # the model's rules changed since: rebuild every state row from genesis with the new ones
            log.warning("replay: %s; rebuilding the state from genesis", exc)
            con.execute("DELETE FROM replay_checkpoints")
            full = True
    if full or reorg_from is not None:
        # Rows after the checkpoint exist only after a reorg or for a rebuild: each run commits atomically.
        con.execute("DELETE FROM replay_checkpoints WHERE cursor_block > ?", [block])
        for t in STATE_TABLES:
            con.execute(f"DELETE FROM {t} WHERE block_number > ?", [block])
        # an hour's snapshot rows carry the block before the hour's first transaction, which may be the
        # checkpoint's own: the hours after the checkpoint's last hour are written again by this run
        last_hour = r.state.extra.get("last_hour") if r is not None else None
        after = -1 if last_hour is None else last_hour * 3600
        for t in HOURLY_TABLES:
            con.execute(f"DELETE FROM {t} WHERE ts > ?" + (" AND kind = 'hour'" if t == "amm_snapshots" else ""),
                        [after])
        con.execute("DELETE FROM orders WHERE placed_block > ?", [block])
        con.execute("DELETE FROM lp_ranges WHERE added_block > ?", [block])
    return r, block


def run_replay(con, settings, full: bool = False, window_blocks: int = 20_000) -> ReplayResult:
    t0 = time.perf_counter()
    decoded = int(get_state(con, "decoded_to", "-1"))
    reorg = get_state(con, "replay_reorg_from")
    reorg_from = int(reorg) if reorg is not None else None
    con.execute("BEGIN")
    try:
        replayer, start = _restore(con, reorg_from, full)
        classify_legacy_divergences(con)
        replayer = replayer or Replayer(quote_decimals=settings.quote_decimals,
                                        order_spacing=settings.order_spacing)
        builder = StateBuilder(replayer)
        if replayer.state.cursor[0] >= 0 and (full or reorg_from is not None):
            # rows of orders/ranges still open at the checkpoint are rewritten from its registry
            builder.touched_orders.update({(*k, r[7], r[8]): r for k, r in builder.open_orders.items()})
            builder.touched_ranges.update({(*k, r[10], r[11]): r for k, r in builder.open_ranges.items()})
        n = 0
        lo = start
        while lo < decoded:
            hi = min(decoded, lo + window_blocks)
            events = read_events(con, lo, hi)
            n += len(events)
            replayer.apply(events, flush=False)
            lo = hi
        replayer.flush()
        _write(con, builder, replayer)
        if n or full or reorg_from is not None:
            con.execute("INSERT INTO replay_checkpoints (cursor_block, cursor_tx, cursor_log, last_ts, events_applied,"
                        " state) VALUES (?, ?, ?, ?, ?, ?)",
                        [max(decoded, start), replayer.state.cursor[1], replayer.state.cursor[2],
                         (replayer.state.extra.get("last_hour") or 0) * 3600, replayer.state.events_applied,
                         replayer.checkpoint()])
            con.execute(f"DELETE FROM replay_checkpoints WHERE cursor_block NOT IN (SELECT cursor_block FROM "
                        f"replay_checkpoints ORDER BY cursor_block DESC LIMIT {CHECKPOINTS_KEPT})")
        con.execute("DELETE FROM ingestion_state WHERE key = 'replay_reorg_from'")
        if decoded > start or full or reorg_from is not None:  # rows of blocks after `start` may have changed:
            # the marts rebuild from there (pipelines/marts/assets.py, build_marts)
            set_state(con, "marts_dirty_from", min(int(get_state(con, "marts_dirty_from", str(start + 1))), start + 1))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rounding = sum(d.cls == "rounding" for d in replayer.divergences)
    return ReplayResult(n, start + 1, decoded, len(replayer.divergences), time.perf_counter() - t0, start,
                        len(replayer.divergences) - rounding, rounding)


def _frame(table: str, rows: list) -> pl.DataFrame:
    cols = ROW_COLS[table]
    schema = {c: (pl.Utf8 if c in HUGE or c in ("instrument", "trader", "owner", "kind", "sqrt_px96", "status", "side",
                                                   "counterparty", "removed_by", "entry_sqrt_px96", "event",
                                                   "field", "expected", "actual")
                  else pl.Float64 if c.endswith("_f") else pl.Boolean if c == "in_range" else pl.Int64)
              for c in cols}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _write(con, builder: StateBuilder, replayer: Replayer) -> None:
    types = {c: "HUGEINT" for c in HUGE}
    for table, rows in builder.rows.items():
        if rows:
            insert_frame(con, table, _frame(table, rows), types, replace=False)
    for table, touched, keys in (("orders", builder.touched_orders, ("instrument", "expiry", "trader", "tick", "nonce",
                                                                     "placed_block", "placed_log_index")),
                                 ("lp_ranges", builder.touched_ranges,
                                  ("instrument", "expiry", "owner", "tick_lower", "tick_upper", "added_block",
                                   "added_log_index"))):
        if not touched:
            continue
        frame = _frame(table, [tuple(r) for r in touched.values()])
        con.register("_touched", frame.select(list(keys)).to_arrow())
        cond = " AND ".join(f"t.{k} = _touched.{k}" for k in keys)
        con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM _touched WHERE {cond})")
        con.unregister("_touched")
        insert_frame(con, table, frame, types, replace=False)
    if replayer.divergences:
        rows = [(d.block_number, d.tx_index, d.log_index, d.instrument, d.event, d.field, d.expected, d.actual,
                 d.ts, d.cls, d.reason, *_diff_text(d.diff), d.rel) for d in replayer.divergences]
        insert_frame(con, "replay_divergences", pl.DataFrame(rows, schema=DIVERGENCE_SCHEMA, orient="row"),
                     replace=False)


DIVERGENCE_SCHEMA = {"block_number": pl.Int64, "tx_index": pl.Int64, "log_index": pl.Int64, "instrument": pl.Utf8,
                     "event": pl.Utf8, "field": pl.Utf8, "expected": pl.Utf8, "actual": pl.Utf8, "ts": pl.Int64,
                     "class": pl.Utf8, "reason": pl.Utf8, "diff_wei": pl.Utf8, "abs_diff_wei": pl.Utf8,
                     "rel_diff": pl.Float64}


def _diff_text(diff: int | None) -> tuple[str | None, str | None]:
    """(diff, |diff|) as exact decimal text (a uint256 difference may not fit a HUGEINT)."""
    return (None, None) if diff is None else (str(diff), str(abs(diff)))


def classify_legacy_divergences(con) -> int:
    """Size and class for rows written before the divergence policy (class IS NULL), their ts from raw_logs.
    Returns how many rows it classified."""
    rows = con.execute("SELECT d.rowid, d.field, d.expected, d.actual, coalesce(d.ts, (SELECT min(block_timestamp) "
                       "FROM raw_logs r WHERE r.block_number = d.block_number)) "
                       "FROM replay_divergences d WHERE d.class IS NULL").fetchall()
    if not rows:
        return 0
    out = []
    for rowid, fld, expected, actual, ts in rows:
        d = classify(fld, expected, actual)
        out.append((rowid, ts, d.cls, d.reason, *_diff_text(d.diff), d.rel))
    frame = pl.DataFrame(out, schema={"rid": pl.Int64, "ts": pl.Int64, "class": pl.Utf8, "reason": pl.Utf8,
                                      "diff_wei": pl.Utf8, "abs_diff_wei": pl.Utf8, "rel_diff": pl.Float64},
                         orient="row")
    con.register("_classified", frame.to_arrow())
    try:
        con.execute("UPDATE replay_divergences d SET ts = c.ts, class = c.class, reason = c.reason, "
                    "diff_wei = c.diff_wei, abs_diff_wei = c.abs_diff_wei, rel_diff = c.rel_diff "
                    "FROM _classified c WHERE d.rowid = c.rid")
    finally:
        con.unregister("_classified")
    return len(out)
