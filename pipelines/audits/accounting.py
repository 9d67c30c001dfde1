"""The numbers of one LP range, computed exactly from the pair's events (no hourly sampling).

A range's holdings depend only on the pair's AMM price and fee index, and those change only at events (a trade,
a sweep, a liquidity change), each of which the replay snapshots (amm_snapshots, kind='event').  Between two
events nothing about the range changes.  So the state after every event, from the range's Add to its Remove (or
to the end of the data for an open range), is the range's whole history: every integral below is a finite sum
over those events, weighted by time where it is a time average.  Amounts are Python integers in WAD (1e18) until
the very end, rounded as the protocol rounds (models/range_math.py).
"""
from bisect import bisect_right
from dataclasses import dataclass, field

from models.range_math import range_to_position
from models.tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_to_wad

WAD = 10**18
HOUR = 3600
MIN_APR_HOURS = 24  # a window shorter than this is not annualised (a few hours of fees say nothing about a year)
MARKOUT_SECONDS = HOUR


@dataclass(frozen=True)
class Point:
    """The pair right after one event: where the price and the fee index stood from `ts` to the next event."""
    ts: int
    block: int
    log: int
    tick: int
    sqrt_px96: int
    fee_index: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.block, self.log)


@dataclass(frozen=True)
class Withdrawal:
    """A WithdrawRangeFee: `fee` paid out, the range's fee index reset to `entry_fee_index`."""
    block: int
    log: int
    fee: int
    entry_fee_index: int


@dataclass(frozen=True)
class RangeFacts:
    liquidity: int
    margin: int
    sqrt_entry: int
    entry_fee_index: int
    tick_lower: int
    tick_upper: int
    added_ts: int
    added_key: tuple[int, int]  # (block, log index) of its Add
    end_ts: int  # its removal, or the end of the data for an open range
    end_key: tuple[int, int] | None = None  # (block, log index) of its Remove; None while open
    fee_at_removal: int | None = None  # Remove.fee
    removal_balance: int | None = None  # the balance of the position it turned into
    tip: int = 0
    withdrawals: tuple[Withdrawal, ...] = field(default_factory=tuple)

    @property
    def removed(self) -> bool:
        return self.end_key is not None


@dataclass
class Result:
    metrics: dict
    series: list[dict]  # one row per event in the range's life


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def compute(r: RangeFacts, points: list[Point], data_end_ts: int) -> Result:
    """`points`: the pair's event snapshots in order, from the range's Add on, including those after its end
    (up to an hour later; they are used for the markouts only).  `data_end_ts`: the last timestamp replayed."""
    life = [p for p in points if p.key >= r.added_key and p.ts <= r.end_ts
            and (r.end_key is None or p.key <= r.end_key)]
    if not life or life[0].key != r.added_key:
        raise ValueError(f"no snapshot of the pair at the range's Add {r.added_key}: the replay is incomplete")
    s_l, s_u = sqrt_ratio_at_tick(r.tick_lower), sqrt_ratio_at_tick(r.tick_upper)
    withdrawals = sorted(r.withdrawals, key=lambda w: (w.block, w.log))
    span = r.end_ts - r.added_ts

    rows, wi, withdrawn, efi = [], 0, 0, r.entry_fee_index
    for i, p in enumerate(life):
        while wi < len(withdrawals) and (withdrawals[wi].block, withdrawals[wi].log) < p.key:
            withdrawn += withdrawals[wi].fee
            efi = withdrawals[wi].entry_fee_index
            wi += 1
        price = sqrt_to_wad(p.sqrt_px96)
        v = range_to_position(r.liquidity, efi, p.fee_index, r.sqrt_entry, s_l, s_u, p.sqrt_px96, price)
        t1 = life[i + 1].ts if i + 1 < len(life) else r.end_ts
        rows.append({"ts": p.ts, "block": p.block, "log": p.log, "tick": p.tick, "price": price,
                     "in_range": r.tick_lower <= p.tick < r.tick_upper, "net": v.size, "pnl": v.pnl,
                     "fee": withdrawn + v.fee, "accrued": v.fee,
                     "dt": max(0, min(t1, r.end_ts) - max(p.ts, r.added_ts))})
    last = rows[-1]
    withdrawn_total = sum(w.fee for w in withdrawals)

    if r.removed:
        fees = (r.fee_at_removal or 0) + withdrawn_total
        il = (r.removal_balance or 0) - r.margin - (r.fee_at_removal or 0) + 1 + r.tip
        reconciled = last["pnl"] == il and last["accrued"] == (r.fee_at_removal or 0)
    else:
        fees, il, reconciled = last["fee"], last["pnl"], None

    # implied position PnL: hold the range's net position after each event until the next one (a portfolio
    # rebalanced at every event), in quote WAD x WAD
    implied = sum(a["net"] * (b["price"] - a["price"]) for a, b in zip(rows, rows[1:]))

    # 1-hour markout of each change of the net position (the inventory the range took on in a fill)
    times = [p.ts for p in points]

    def price_at(t: int) -> int:  # the pair's price after the last event at or before t
        return sqrt_to_wad(points[bisect_right(times, t) - 1].sqrt_px96)

    markout, partial = 0, 0
    for a, b in zip(rows, rows[1:]):
        dn = b["net"] - a["net"]
        if dn:
            later = b["ts"] + MARKOUT_SECONDS
            partial += later > data_end_ts
            markout += dn * (price_at(min(later, data_end_ts)) - b["price"])

    time_in = sum(x["dt"] for x in rows if x["in_range"])
    twa = sum(abs(x["net"]) * x["price"] * x["dt"] for x in rows) / span / 1e36 if span else None

    runs, cur_sign, cur = [], 0, 0
    for x in rows:
        s = _sign(x["net"])
        if s != cur_sign:
            if cur_sign and cur:
                runs.append(cur)
            cur_sign, cur = s, 0
        cur += x["dt"]
    if cur_sign and cur:
        runs.append(cur)

    margin_q = r.margin / WAD
    hours = span / HOUR
    annualised = span >= MIN_APR_HOURS * HOUR and r.margin > 0
    m = {
        "price_lower": tick_to_wad(r.tick_lower) / WAD, "price_upper": tick_to_wad(r.tick_upper) / WAD,
        "entry_price": sqrt_to_wad(r.sqrt_entry) / WAD, "last_price": last["price"] / WAD,
        "margin_quote": margin_q, "hours_open": hours, "added_ts": r.added_ts, "end_ts": r.end_ts,
        "fees_quote": fees / WAD, "impermanent_loss_quote": il / WAD, "pnl_vs_hold_quote": (il + fees) / WAD,
        "implied_position_pnl_quote": implied / 1e36, "lvr_quote": implied / 1e36 - il / WAD,
        "markout_1h_quote": markout / 1e36,
        "markout_fills": sum(1 for a, b in zip(rows, rows[1:]) if a["net"] != b["net"]),
        "markout_partial_fills": partial,
        "time_in_range": time_in / span if span else None, "time_in_range_hours": time_in / HOUR,
        "fee_return": fees / r.margin if r.margin else None,
        "pnl_vs_hold_return": (il + fees) / r.margin if r.margin else None,
        "apr": fees / r.margin * (365 * 24 * HOUR) / span if annualised else None,
        "apr_note": None if annualised else (
            "no margin" if not r.margin else
            f"open {_hours_text(hours)}: under {MIN_APR_HOURS} h, not annualised"),
        "twa_abs_net_quote": twa, "twa_abs_net_over_margin": twa / margin_q if twa is not None and margin_q else None,
        "inventory_hold_hours": sum(runs) / len(runs) / HOUR if runs else None,
        "events": len(rows), "reconciled": reconciled,
    }
    series = [{"ts": x["ts"], "block_number": x["block"], "log_index": x["log"], "tick": x["tick"],
               "price": x["price"] / WAD, "net_size": x["net"] / WAD, "pnl_quote": x["pnl"] / WAD,
               "fee_quote": x["fee"] / WAD, "value_quote": (r.margin + x["fee"] + x["pnl"]) / WAD,
               "hold_quote": margin_q, "in_range": x["in_range"]} for x in rows]
    return Result(m, series)


def _hours_text(h: float) -> str:
    if h < 1:
        return f"{h * 60:.0f} min"
    return f"{h:.1f} h"
