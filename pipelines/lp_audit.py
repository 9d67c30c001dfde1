"""LP performance audits: for a trader or one range, the numbers a market maker judges a range by, from the
exact replay (lp_ranges, range_history), as rows in DuckDB and as an HTML report.

Method (v1), per range, with P the pair's fair price at each hourly snapshot and n the range's implied net
position (base):
- fees: exact, from the fee index (Remove.fee plus WithdrawRangeFee; accrued so far for an open range).
- impermanent loss: value of the range's holdings minus the value of holding its entry inventory, at the last
  price (the replay's rangeToPosition pnl; exact at removal: balance paid - margin - fee + 1 wei + tip).
- PnL vs hold = impermanent loss + fees.
- implied position PnL = Σ n_h (P_{h+1} - P_h); LVR = implied position PnL - impermanent loss.
- 1-hour markout of its fills = Σ (n_h - n_{h-1}) (P_{h+1} - P_h): what the inventory it took on was worth an hour later.
- time in range, APR = fees / margin x 8760 / hours open, time-weighted |n|·P (also over margin), and the mean
  number of hours n keeps one sign before it is offset.
Inputs are validated, and reach SQL only as parameters.
"""
import html
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .dashboard import _chart

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
W = 1e18


class AuditInputError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    trader: str | None = None
    instrument: str | None = None
    tick_lower: int | None = None
    tick_upper: int | None = None

    @classmethod
    def parse(cls, trader: str | None = None, range_spec: str | None = None) -> "Target":
        if bool(trader) == bool(range_spec):
            raise AuditInputError("give either a trader address or a range (instrument:owner:tick_lower:tick_upper)")
        if trader:
            if not ADDRESS.match(trader):
                raise AuditInputError(f"'{trader}' is not an address (0x followed by 40 hex digits)")
            return cls(trader=trader.lower())
        parts = range_spec.split(":")
        if len(parts) != 4 or not ADDRESS.match(parts[0]) or not ADDRESS.match(parts[1]):
            raise AuditInputError(f"'{range_spec}' is not instrument:owner:tick_lower:tick_upper with two addresses")
        try:
            lo, hi = int(parts[2]), int(parts[3])
        except ValueError:
            raise AuditInputError(f"tick bounds in '{range_spec}' must be whole numbers") from None
        if lo >= hi:
            raise AuditInputError("tick_lower must be below tick_upper")
        return cls(trader=parts[1].lower(), instrument=parts[0].lower(), tick_lower=lo, tick_upper=hi)


def _ranges(con, t: Target) -> pl.DataFrame:
    q = ("SELECT r.*, coalesce(i.symbol, r.instrument) AS symbol FROM lp_ranges r "
         "LEFT JOIN instruments i ON i.address = r.instrument WHERE r.owner = ?")
    params: list = [t.trader]
    if t.instrument:
        q += " AND r.instrument = ? AND r.tick_lower = ? AND r.tick_upper = ?"
        params += [t.instrument, t.tick_lower, t.tick_upper]
    q = q.replace("r.*", "r.* EXCLUDE (liquidity, margin, entry_fee_index, fees_withdrawn, fee_at_removal, tip, "
                         "removal_size, removal_balance), r.margin::DOUBLE AS margin, r.fees_withdrawn::DOUBLE AS "
                         "fees_withdrawn, r.fee_at_removal::DOUBLE AS fee_at_removal, r.tip::DOUBLE AS tip, "
                         "r.removal_balance::DOUBLE AS removal_balance")
    return pl.from_arrow(con.sql(q + " ORDER BY r.added_block", params=params).to_arrow_table())


def _series(con, r: dict) -> pl.DataFrame:
    return pl.from_arrow(con.sql(
        "SELECT ts, price_f AS price, net_size::DOUBLE / 1e18 AS net, value::DOUBLE / 1e18 AS value, "
        "fee::DOUBLE / 1e18 AS fee, pnl::DOUBLE / 1e18 AS pnl, in_range FROM range_history "
        "WHERE instrument = ? AND expiry = ? AND owner = ? AND tick_lower = ? AND tick_upper = ? AND block_number >= ? "
        "AND (? IS NULL OR block_number <= ?) ORDER BY ts",
        params=[r["instrument"], r["expiry"], r["owner"], r["tick_lower"], r["tick_upper"], r["added_block"],
         r["removed_block"], r["removed_block"]]).to_arrow_table())


def metrics(r: dict, s: pl.DataFrame) -> dict:
    margin = r["margin"] / W
    removed = r["status"] == "REMOVED"
    withdrawn = (r["fees_withdrawn"] or 0) / W
    if removed:
        fees = (r["fee_at_removal"] or 0) / W + withdrawn
        il = ((r["removal_balance"] or 0) - r["margin"] - (r["fee_at_removal"] or 0) + 1 + (r["tip"] or 0)) / W
        end_ts = r["removed_ts"]
    else:
        fees = (s["fee"][-1] if s.height else 0.0) + withdrawn
        il = s["pnl"][-1] if s.height else 0.0
        end_ts = s["ts"][-1] if s.height else r["added_ts"]
    hours = max((end_ts - r["added_ts"]) / 3600, 1e-9)
    n, p = s["net"].to_list(), s["price"].to_list()
    implied = sum(n[i] * (p[i + 1] - p[i]) for i in range(len(p) - 1))
    markout = sum((n[i] - (n[i - 1] if i else 0.0)) * (p[i + 1] - p[i]) for i in range(len(p) - 1))
    twa = sum(abs(a) * b for a, b in zip(n, p)) / len(n) if n else 0.0
    runs, cur = [], 0
    for i, v in enumerate(n):
        if i and (v > 0) != (n[i - 1] > 0):
            runs.append(cur)
            cur = 0
        cur += 1
    if cur:
        runs.append(cur)
    return {"margin_quote": margin, "hours_open": hours, "fees_quote": fees, "impermanent_loss_quote": il,
            "pnl_vs_hold_quote": il + fees, "implied_position_pnl_quote": implied, "lvr_quote": implied - il,
            "markout_1h_quote": markout,
            "time_in_range": (s["in_range"].sum() / s.height) if s.height else None,
            "apr": fees / margin * 8760 / hours if margin else None, "twa_abs_net_quote": twa,
            "twa_abs_net_over_margin": twa / margin if margin else None,
            "inventory_hold_hours": sum(runs) / len(runs) if runs else None}


def audit(con, target: Target) -> tuple[str, pl.DataFrame, dict]:
    """Runs the audit, stores its rows; returns (audit id, per-range rows, {range key: series})."""
    ranges = _ranges(con, target)
    if ranges.height == 0:
        known = con.execute("SELECT count(*) FROM lp_ranges WHERE owner = ?", [target.trader]).fetchall()[0][0]
        what = "that range" if target.instrument and known else f"trader {target.trader}"
        raise AuditInputError(f"no LP range found for {what} in the replayed state"
                              + ("" if known else " (the address never provided liquidity here)"))
    audit_id = uuid.uuid4().hex[:12]
    rows, series = [], {}
    for r in ranges.iter_rows(named=True):
        s = _series(con, r)
        m = metrics(r, s)
        key = (r["instrument"], r["owner"], r["tick_lower"], r["tick_upper"], r["added_block"])
        series[key] = (r["symbol"], s)
        rows.append({"audit_id": audit_id, "instrument": r["instrument"], "symbol": r["symbol"],
                     "expiry": r["expiry"], "owner": r["owner"], "tick_lower": r["tick_lower"],
                     "tick_upper": r["tick_upper"], "added_block": r["added_block"], "status": r["status"], **m})
    out = pl.DataFrame(rows)
    con.register("_audit", out.to_arrow())
    con.execute(f"INSERT INTO lp_audit_ranges ({', '.join(out.columns)}) SELECT * FROM _audit")
    con.unregister("_audit")
    for (inst, owner, lo, hi, added), (_, s) in series.items():
        if s.height:
            frame = s.select(pl.lit(audit_id).alias("audit_id"), pl.lit(inst).alias("instrument"),
                             pl.lit(owner).alias("owner"), pl.lit(lo).alias("tick_lower"),
                             pl.lit(hi).alias("tick_upper"), pl.lit(added).alias("added_block"), "ts", "price",
                             pl.col("net").alias("net_size"), pl.col("value").alias("value_quote"),
                             pl.col("fee").alias("fee_quote"), "in_range")
            con.register("_series", frame.to_arrow())
            con.execute(f"INSERT INTO lp_audit_series ({', '.join(frame.columns)}) SELECT * FROM _series")
            con.unregister("_series")
    return audit_id, out, series


def report(audit_id: str, target: Target, rows: pl.DataFrame, series: dict, out: Path) -> Path:
    from datetime import datetime, timezone
    fmt = lambda v: "" if v is None else (f"{v:,.4f}" if isinstance(v, float) else str(v))  # noqa: E731
    cols = ["symbol", "tick_lower", "tick_upper", "status", "margin_quote", "hours_open", "fees_quote",
            "impermanent_loss_quote", "pnl_vs_hold_quote", "implied_position_pnl_quote", "lvr_quote",
            "markout_1h_quote", "time_in_range", "apr", "twa_abs_net_over_margin", "inventory_hold_hours"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in rows.iter_rows(named=True))
    charts = []
    for (inst, owner, lo, hi, added), (symbol, s) in list(series.items())[:30]:
        if s.height < 2:
            continue
        pts = [(datetime.fromtimestamp(t, tz=timezone.utc), v) for t, v in zip(s["ts"], s["net"])]
        vals = [(datetime.fromtimestamp(t, tz=timezone.utc), v) for t, v in zip(s["ts"], s["value"])]
        net = _chart({"chart": "line", "x": "t", "y": "net position (base)"}, ["t", "net position (base)"], pts)
        val = _chart({"chart": "line", "x": "t", "y": "value (quote)", "zero": "no"}, ["t", "value (quote)"], vals)
        charts.append(f"<h3>{html.escape(symbol)} [{lo}, {hi}) added at block {added}</h3>{net}{val}")
    scope = f" · range {target.instrument}:{target.tick_lower}:{target.tick_upper}" if target.instrument else ""
    who = html.escape(target.trader + scope)
    totals = rows.group_by("symbol").agg(pl.len().alias("ranges"), pl.col("fees_quote").sum(),
                                         pl.col("impermanent_loss_quote").sum(), pl.col("pnl_vs_hold_quote").sum())
    who += "".join(f"<br>{html.escape(r['symbol'])}: {r['ranges']} ranges, fees {r['fees_quote']:,.4f}, "
                   f"impermanent loss {r['impermanent_loss_quote']:,.4f}, PnL vs hold {r['pnl_vs_hold_quote']:,.4f} "
                   "(quote units)" for r in totals.sort("symbol").iter_rows(named=True))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>LP audit</title><style>"
            "body{font:14px system-ui,sans-serif;margin:24px}td,th{padding:2px 8px;text-align:right;"
            "border-bottom:1px solid #eee;white-space:nowrap}table{border-collapse:collapse;font-size:12px}</style>"
            f"</head><body><h1>LP audit {audit_id}</h1><p>{who}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<h2>Net position and value over time</h2>{''.join(charts)}"
            "<h2>Method (v1)</h2><pre>" + html.escape(__doc__) + "</pre></body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return out
