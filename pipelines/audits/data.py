"""Reading what an audit needs from the warehouse: the ranges (lp_ranges), the pair's event snapshots
(amm_snapshots, kind='event'), the range's fee withdrawals (events_withdraw_range_fee), where its Remove sits
(fills, kind='RANGE'), and the quote token's USD price (dim_instruments, mart_quote_prices_hourly).
Every input reaches SQL as a parameter."""
from datetime import datetime, timezone

import duckdb

from models.pearl import rid
from models.tick_math import sqrt_to_wad, tick_to_wad

from .accounting import Point, RangeFacts, Withdrawal
from .target import AuditInputError, Target, range_id

WAD = 10**18
RANGE_COLS = ("r.instrument, coalesce(i.symbol, r.instrument) AS symbol, r.expiry, r.owner, r.tick_lower, "
              "r.tick_upper, r.liquidity::VARCHAR AS liquidity, r.margin::VARCHAR AS margin, r.entry_sqrt_px96, "
              "r.entry_fee_index::VARCHAR AS entry_fee_index, r.added_block, r.added_log_index, r.added_ts, r.status, "
              "r.fees_withdrawn::VARCHAR AS fees_withdrawn, r.fee_at_removal::VARCHAR AS fee_at_removal, "
              "r.removed_block, r.removed_ts, r.removed_by, r.tip::VARCHAR AS tip, "
              "r.removal_size::VARCHAR AS removal_size, r.removal_balance::VARCHAR AS removal_balance")


def _int(v) -> int:
    return int(v) if v is not None else 0


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def symbols(con) -> dict[str, str]:
    """symbol (upper case) -> instrument address."""
    return {s.upper(): a for a, s in con.execute("SELECT address, symbol FROM instruments WHERE symbol IS NOT NULL")
            .fetchall()}


def resolve_instrument(con, symbol: str) -> str:
    known = symbols(con)
    addr = known.get(symbol.upper())
    if addr is None:
        raise AuditInputError(f"no instrument with the symbol '{symbol}' (known: {', '.join(sorted(known)) or 'none'})")
    return addr


def resolve(con, t: Target) -> Target:
    """The target with its symbol resolved to an address."""
    if t.symbol:
        from dataclasses import replace
        return replace(t, instrument=resolve_instrument(con, t.symbol))
    return t


def load_ranges(con, t: Target) -> list[dict]:
    q = f"SELECT {RANGE_COLS} FROM lp_ranges r LEFT JOIN instruments i ON i.address = r.instrument WHERE true"
    params: list = []
    if t.trader:
        q += " AND r.owner = ?"
        params.append(t.trader)
    if t.instrument:
        q += " AND r.instrument = ?"
        params.append(t.instrument)
    if t.tick_lower is not None:
        q += " AND r.tick_lower = ? AND r.tick_upper = ?"
        params += [t.tick_lower, t.tick_upper]
    if t.added_block is not None:
        q += " AND r.added_block = ? AND r.added_log_index = ?"
        params += [t.added_block, t.added_log_index]
    rows = _rows(con, q + " ORDER BY r.added_block, r.added_log_index", params)
    if rows:
        owners = sorted({r["owner"] for r in rows})
        if t.is_range and not t.trader and len(owners) > 1:
            raise AuditInputError(f"{len(owners)} LPs have a range {t.describe()}: name one with --trader "
                                  f"({', '.join(owners)})")
        return rows
    if t.trader:
        known = con.execute("SELECT count(*) FROM lp_ranges WHERE owner = ?", [t.trader]).fetchall()[0][0]
        if not known:
            raise AuditInputError(f"no LP range found for trader {t.trader} in the replayed state (the address never "
                                  "provided liquidity here; `audit list` shows the LPs)")
        raise AuditInputError(f"trader {t.trader} has no {t.describe()} (`audit list --trader {t.trader}` shows its "
                              "ranges)")
    raise AuditInputError(f"no {t.describe()} in the replayed state (`audit list` shows the LPs and ranges)")


def data_end_ts(con) -> int:
    v = con.execute("SELECT max(ts) FROM amm_snapshots").fetchall()[0][0]
    return int(v or 0)


def _removal_log(con, r: dict) -> int:
    """The log index of the range's Remove, from the RANGE fill it made (same block, same size)."""
    hit = con.execute("SELECT log_index FROM fills WHERE instrument = ? AND expiry = ? AND trader = ? "
                      "AND kind = 'RANGE' AND block_number = ? "
                      "ORDER BY (size = CAST(? AS HUGEINT)) DESC, log_index LIMIT 1",
                      [r["instrument"], r["expiry"], r["owner"], r["removed_block"], r["removal_size"] or "0"]
                      ).fetchall()
    return int(hit[0][0]) if hit else 2**62  # not found: the whole removal block


def facts(con, r: dict, end_of_data: int) -> tuple[RangeFacts, list[Point]]:
    removed = r["status"] == "REMOVED"
    end_ts = int(r["removed_ts"]) if removed else max(end_of_data, int(r["added_ts"]))
    end_key = (int(r["removed_block"]), _removal_log(con, r)) if removed else None
    added = (int(r["added_block"]), int(r["added_log_index"]))
    w = con.execute(
        "SELECT block_number, log_index, fee, range_entry_fee_index FROM events_withdraw_range_fee WHERE address = ? "
        "AND expiry = ? AND trader = ? AND rid = ? AND block_number >= ? AND (? IS NULL OR block_number <= ?) "
        "ORDER BY block_number, log_index",
        [r["instrument"], r["expiry"], r["owner"], rid(r["tick_lower"], r["tick_upper"]), added[0],
         end_key and end_key[0], end_key and end_key[0]]).fetchall()
    withdrawals = tuple(Withdrawal(int(b), int(lg), int(fee), int(efi)) for b, lg, fee, efi in w
                        if (b, lg) > added and (end_key is None or (b, lg) < end_key))
    f = RangeFacts(liquidity=_int(r["liquidity"]), margin=_int(r["margin"]), sqrt_entry=int(r["entry_sqrt_px96"]),
                   entry_fee_index=_int(r["entry_fee_index"]), tick_lower=int(r["tick_lower"]),
                   tick_upper=int(r["tick_upper"]), added_ts=int(r["added_ts"]), added_key=added, end_ts=end_ts,
                   end_key=end_key, fee_at_removal=_int(r["fee_at_removal"]) if removed else None,
                   removal_balance=_int(r["removal_balance"]) if removed else None, tip=_int(r["tip"]),
                   withdrawals=withdrawals)
    pts = con.execute(
        "SELECT ts, block_number, log_index, tick, sqrt_px96, fee_index::VARCHAR FROM amm_snapshots "
        "WHERE instrument = ? AND expiry = ? AND kind = 'event' "
        "AND (block_number > ? OR (block_number = ? AND log_index >= ?)) "
        "AND ts <= ? ORDER BY block_number, log_index",
        [r["instrument"], r["expiry"], added[0], added[0], added[1], end_ts + 3600]).fetchall()
    points = [Point(int(ts), int(b), int(lg), int(tick), int(s), int(fi)) for ts, b, lg, tick, s, fi in pts]
    return f, points


def quote_usd(con, instrument: str, ts: int) -> tuple[float | None, str]:
    """USD per quote token at `ts` and how it was found: a STABLE quote is worth 1 USD; a NONSTABLE one (WETH) is
    valued at the hourly quote price the marts record (the protocol's own oracle index of a stable-quoted
    instrument on the same asset, e.g. ETH-USDC-PYTH), the last hour at or before `ts`."""
    try:
        row = con.execute("SELECT quote, quote_type, quote_symbol FROM dim_instruments WHERE instrument = ?",
                          [instrument]).fetchall()
    except duckdb.CatalogException:
        return None, "unpriced (the marts are not built: no quote type known)"
    if not row:
        return None, "unpriced (instrument not in dim_instruments)"
    quote, qtype, qsym = row[0]
    if qtype == 1:
        return 1.0, f"{qsym} is a stable quote, counted as $1"
    try:
        hit = con.execute("SELECT usd, method, hour FROM mart_quote_prices_hourly WHERE quote = ? "
                          "AND hour <= to_timestamp(?) AND usd IS NOT NULL ORDER BY hour DESC LIMIT 1",
                          [quote, ts]).fetchall()
    except duckdb.CatalogException:
        hit = []
    if not hit:
        return None, f"{qsym} unpriced: no recorded {qsym} price at or before the end of the window"
    usd, method, hour = hit[0]
    src = method.split(":", 1)[1] if method.startswith("oracle:") else method
    return float(usd), (f"{qsym} at the {src} oracle index (UpdateSpotState) of the last hour with trades; "
                        f"${usd:,.2f} at {hour.astimezone(timezone.utc):%Y-%m-%d %H:00} UTC")


# --- listing ----------------------------------------------------------------------------------------------
def _utc(ts) -> str:
    return datetime.fromtimestamp(int(ts), tz=timezone.utc).strftime("%Y-%m-%d %H:%M") if ts is not None else ""


def list_lps(con, instrument: str | None) -> list[dict]:
    q = ("SELECT r.owner, count(*) AS ranges, count(*) FILTER (WHERE r.status = 'OPEN') AS open, "
         "string_agg(DISTINCT coalesce(i.symbol, r.instrument), ', ' ORDER BY coalesce(i.symbol, r.instrument)) "
         "AS instruments, min(r.added_ts) AS first_added, max(greatest(r.added_ts, coalesce(r.removed_ts, 0))) AS last "
         "FROM lp_ranges r LEFT JOIN instruments i ON i.address = r.instrument")
    params = []
    if instrument:
        q += " WHERE r.instrument = ?"
        params.append(instrument)
    return _rows(con, q + " GROUP BY r.owner ORDER BY ranges DESC, r.owner", params)


def list_text(con, trader: str | None = None, instrument: str | None = None) -> str:
    """`audit list`: the LPs (no --trader), or the ranges of one LP, with the --range spec of each."""
    from ..dashboard.charts import fmt_num
    inst = None
    if trader:
        trader = Target.parse(trader).trader
    if instrument:
        inst = instrument.lower() if instrument.lower().startswith("0x") else resolve_instrument(con, instrument)
    end = data_end_ts(con)
    out = []
    if not trader:
        lps = list_lps(con, inst)
        out.append(f"{len(lps)} LPs" + (f" on {instrument}" if instrument else "") + f" (data up to {_utc(end)} UTC)")
        out.append(f"{'owner':42s}  {'ranges':>6s}  {'open':>4s}  {'first added (UTC)':17s}  "
                   f"{'last change (UTC)':17s}  instruments")
        for r in lps:
            out.append(f"{r['owner']:42s}  {r['ranges']:>6d}  {r['open']:>4d}  {_utc(r['first_added']):17s}  "
                       f"{_utc(r['last']):17s}  {r['instruments']}")
        out.append("ranges of one LP: audit list --trader <owner>; audit one: audit --trader <owner>")
        return "\n".join(out)
    rows = load_ranges(con, Target(trader=trader, instrument=inst))
    out.append(f"{len(rows)} ranges of {trader}" + (f" on {instrument}" if instrument else "")
               + f" (data up to {_utc(end)} UTC); prices in quote per base")
    out.append(f"{'range id':>12s}  {'instrument':16s}  {'status':7s}  {'ticks':>15s}  {'price lower':>11s}  "
               f"{'price upper':>11s}  {'entry price':>11s}  {'margin':>14s}  {'opened (UTC)':16s}  {'open for':>8s}  "
               "--range")
    for r in rows:
        sym, rid_ = r["symbol"], range_id(r["added_block"], r["added_log_index"])
        quote = sym.split("-")[1] if "-" in sym else "quote"
        hours = ((int(r["removed_ts"]) if r["status"] == "REMOVED" else max(end, int(r["added_ts"])))
                 - int(r["added_ts"])) / 3600
        entry = sqrt_to_wad(int(r["entry_sqrt_px96"])) / WAD
        ticks = f"{r['tick_lower']}..{r['tick_upper']}"
        out.append(f"{rid_:>12s}  {sym:16s}  {r['status']:7s}  {ticks:>15s}  "
                   f"{fmt_num(tick_to_wad(r['tick_lower']) / WAD):>11s}  "
                   f"{fmt_num(tick_to_wad(r['tick_upper']) / WAD):>11s}  {fmt_num(entry):>11s}  "
                   f"{fmt_num(_int(r['margin']) / WAD) + ' ' + quote:>14s}  {_utc(r['added_ts']):16s}  "
                   f"{_hours(hours):>8s}  {sym}:{rid_}")
    out.append(f"audit one range: audit --range <the --range column>; or by ticks: audit --trader {trader} "
               "--range <instrument>:<tick lower>:<tick upper>")
    return "\n".join(out)


def _hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:.1f} h"
