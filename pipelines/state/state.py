"""Rebuilt state: runs the replay (models.replay) over decoded events and turns what it sees into the rows of
the state tables (sql/schema/state.sql).  Pure data work: the `replay` asset does the reading and writing.

Rows are produced as events are applied (the replay calls back with the chain's event and the engine's
expected one, which carries the trade walk), plus snapshots at each hour boundary taken just before the first
transaction of a new hour.  Open orders and ranges are kept in a registry inside the replay checkpoint, so an
incremental run can update the rows it closes.
"""
from bisect import bisect_right, insort
from collections import defaultdict
from math import isqrt

from models.constants import PERP_EXPIRY
from models.depth import best_bid_ask, depth_to
from models.events import EVENTS
from models.fees import fee_split
from models.pearl import oid, rid
from models.replay import NOT_REPLAYED, Replayer
from models.tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_to_wad

from ..core.store import sql_type

HOUR = 3600
DEPTH_BPS = (10, 50, 100, 200)
MOVES_AMM = {"Trade", "Sweep", "Add", "Remove", "UpdateAmmStatus", "Liquidate", "Settle"}
REPLAYED_TABLES = sorted({e.table for e in EVENTS if e.name not in NOT_REPLAYED})
TABLE_EVENT = {e.table: e.name for e in EVENTS}
# wide integer columns of each events table (HUGEINT, or VARCHAR decimal text), read as text and turned back
# into exact Python ints for the model (HUGEINT would otherwise reach Python as a Decimal)
INT_TEXT = {t: sorted({f.name for e in EVENTS if e.table == t for f in e.fields
                       if sql_type(f.abi_type) in ("VARCHAR", "HUGEINT")
                       and f.abi_type not in ("address", "string", "bytes32")})
            for t in REPLAYED_TABLES}

ORDER_COLS = ["instrument", "expiry", "trader", "tick", "nonce", "size", "balance", "placed_block",
              "placed_log_index", "placed_ts", "status", "filled_size", "fee", "closed_block", "closed_ts"]
RANGE_COLS = ["instrument", "expiry", "owner", "tick_lower", "tick_upper", "liquidity", "margin", "entry_sqrt_px96",
              "entry_price_f", "entry_fee_index", "added_block", "added_log_index", "added_ts", "status",
              "fees_withdrawn", "fee_at_removal", "removed_block", "removed_ts", "removed_by", "tip", "removal_size",
              "removal_balance", "out_of_range_since"]


def _f(wad: int) -> float:
    return wad / 1e18


class StateBuilder:
    def __init__(self, replayer: Replayer):
        self.r = replayer
        self.r.on_applied = self._on_event
        self.r.before_tx = self._before_tx
        extra = self.r.state.extra
        self.open_orders: dict = extra.setdefault("open_orders", {})  # (inst, expiry, trader, oid) -> row
        self.open_ranges: dict = extra.setdefault("open_ranges", {})  # (inst, expiry, owner, rid) -> row
        extra.setdefault("last_hour", None)
        self.rows: dict[str, list] = defaultdict(list)
        # (key, block, log index of the Place/Add) -> final or current row, written at the end of the run: the
        # same order id or range bounds may be placed again after a close, in the same run
        self.touched_orders: dict = {}
        self.touched_ranges: dict = {}
        # A range enters or leaves its price range only when the tick crosses one of its bounds: open ranges are
        # indexed by bound per pair, so a price move visits the ranges it crossed, not every open range.
        self.bounds: dict[tuple, list] = defaultdict(list)  # (inst, expiry) -> sorted [(bound tick, key)]
        self.last_tick: dict[tuple, int] = {}  # (inst, expiry) -> the tick the range statuses agree with
        for key, row in self.open_ranges.items():
            self._index_range(key, row)

    # --- hourly snapshots ---------------------------------------------------------------------------------
    def _before_tx(self, ev: dict) -> None:
        hour = ev["block_timestamp"] // HOUR
        extra = self.r.state.extra
        last = extra["last_hour"]
        if last is not None and hour > last:
            block = self.r.state.cursor[0]
            for h in range(last + 1, hour + 1):
                self._snapshot_hour(h * HOUR, block)
        extra["last_hour"] = hour

    def _snapshot_hour(self, ts: int, block: int) -> None:
        for addr, inst in self.r.state.instruments.items():
            for expiry, pair in inst.pairs.items():
                a = pair.amm
                if a.status == 0:
                    continue
                self._amm_row(addr, inst, expiry, "hour", block, None, None, ts)
                for tick, p in pair.pearls.items():
                    if p.liquidity_gross or p.left:
                        self.rows["pearl_snapshots"].append(
                            (addr, expiry, ts, block, tick, _f(sqrt_to_wad(sqrt_ratio_at_tick(tick))),
                             str(p.liquidity_gross), str(p.liquidity_net), str(p.left), p.nonce))
                price = sqrt_to_wad(a.sqrt_px96)
                self._depth_rows(addr, inst, expiry, pair, ts, block)
                for (e, owner, key), rg in inst.ranges.items():
                    if e != expiry:
                        continue
                    tl, tu = _unrid(key)
                    v = inst.range_value(expiry, owner, tl, tu)
                    self.rows["range_history"].append(
                        (addr, expiry, owner, tl, tu, ts, block, tl <= a.tick < tu, str(v.size), str(v.pnl),
                         str(v.fee), str(rg.balance + v.fee + v.pnl), _f(price)))

    def _depth_rows(self, addr, inst, expiry, pair, ts, block) -> None:
        a = pair.amm
        s2 = a.sqrt_px96 * a.sqrt_px96
        for bps in DEPTH_BPS:
            for side, sign in (("up", 1), ("down", -1)):
                target = isqrt(s2 * (10_000 + sign * bps) // 10_000)
                base, quote = depth_to(pair, target)
                self.rows["depth_snapshots"].append((addr, expiry, ts, block, side, bps, str(base), str(quote)))
        bid, ask = best_bid_ask(pair)
        lp = sum(r.balance for (e, _, _), r in inst.ranges.items() if e == expiry)
        orders = sum(o.balance for (e, _, _), o in inst.orders.items() if e == expiry)
        traders = sum(p.balance for (e, _), p in inst.positions.items() if e == expiry)
        self.rows["pair_hourly"].append(
            (addr, expiry, ts, block, _f(sqrt_to_wad(a.sqrt_px96)), _f(inst.mark(expiry)),
             _f(tick_to_wad(bid)) if bid is not None else None, _f(tick_to_wad(ask)) if ask is not None else None,
             str(lp), str(orders), str(traders), str(a.insurance_fund), str(a.involved_fund)))

    def _amm_row(self, addr, inst, expiry, kind, block, tx, log, ts) -> None:
        a = inst.pairs[expiry].amm
        self.rows["amm_snapshots"].append(
            (addr, expiry, kind, block, tx, log, ts, int(a.status), a.tick, str(a.sqrt_px96),
             _f(sqrt_to_wad(a.sqrt_px96)) if a.sqrt_px96 else None, _f(inst.mark(expiry)), str(a.liquidity),
             str(a.total_liquidity), str(a.total_long), str(a.total_short), str(a.open_interests),
             str(a.involved_fund), str(a.fee_index), str(a.protocol_fee), str(a.long_funding_index),
             str(a.short_funding_index), str(a.long_social_loss_index), str(a.short_social_loss_index),
             str(a.insurance_fund), str(a.settlement_price)))

    # --- per event ----------------------------------------------------------------------------------------
    def _on_event(self, ev: dict, exp: dict | None) -> None:
        name = ev["event"]
        addr = ev.get("address")
        where = (ev["block_number"], ev["tx_index"], ev["log_index"], ev["block_timestamp"])
        if name == "UpdatePosition":
            self.rows["positions"].append((addr, ev["expiry"], ev["trader"], *where[:3], where[3],
                                           str(ev["pic_balance"]), str(ev["pic_size"]), str(ev["pic_entry_notional"]),
                                           str(ev["pic_entry_social_loss_index"]),
                                           str(ev["pic_entry_funding_index"])))
            return
        if name in ("Scatter", "Gather", "UpdateSpotState", "FundingFee", "UpdateFeeState",
                    "UpdateSocialLossInsuranceFund"):
            return
        inst = self.r.state.instruments.get(addr)
        if inst is None:
            return
        if name == "UpdateFundingIndex":
            pair = inst.pairs.get(PERP_EXPIRY)
            if pair:
                a = pair.amm
                self.rows["funding_index_series"].append(
                    (addr, where[0], where[2], where[3], str(a.long_funding_index), str(a.short_funding_index),
                     _f(sqrt_to_wad(a.sqrt_px96)), _f(inst.spot), str(a.total_long), str(a.total_short)))
            return
        expiry = ev.get("expiry")
        if expiry is None or expiry not in inst.pairs:
            return
        if name in ("Trade", "Sweep"):
            self._trade_fills(inst, addr, ev, exp, where)
        elif name == "Place":
            key = (addr, expiry, ev["trader"], oid(ev["tick"], ev["nonce"]))
            row = [addr, expiry, ev["trader"], ev["tick"], ev["nonce"], str(ev["order_size"]),
                   str(ev["order_balance"]), where[0], where[2], where[3], "OPEN", "0", "0", None, None]
            self.open_orders[key] = row
            self.touched_orders[(*key, row[7], row[8])] = row
        elif name in ("Cancel", "Fill"):
            self._close_order(addr, ev, where)
        elif name == "Add":
            key = (addr, expiry, ev["trader"], rid(ev["tick_lower"], ev["tick_upper"]))
            s = ev["range_sqrt_entry_px96"]
            row = [addr, expiry, ev["trader"], ev["tick_lower"], ev["tick_upper"], str(ev["range_liquidity"]),
                   str(ev["range_balance"]), str(s), _f(sqrt_to_wad(s)), str(ev["range_entry_fee_index"]),
                   where[0], where[2], where[3], "OPEN", "0", None, None, None, None, None, None, None, None]
            self.open_ranges[key] = row
            self.touched_ranges[(*key, row[10], row[11])] = row
            self._index_range(key, row)
            if not row[3] <= inst.pairs[expiry].amm.tick < row[4]:
                row[22] = where[0]
        elif name == "WithdrawRangeFee":
            tl, tu = _unrid(ev["rid"])
            key = (addr, expiry, ev["trader"], ev["rid"])
            row = self.open_ranges.get(key)
            if row:
                row[14] = str(int(row[14]) + ev["fee"])
                self.touched_ranges[(*key, row[10], row[11])] = row
        elif name == "Remove":
            self._remove(addr, ev, where)
        elif name == "Liquidate":
            mark = ev["mark"]
            notional = str(ev["size"] and abs(ev["size"]) * mark // 10**18)
            self.rows["fills"].append((addr, expiry, ev["trader"], "TAKE_OVER", *where[:3], where[3], str(ev["size"]),
                                       notional, "0", None, None, None, None, None, None, None, ev["target"],
                                       _f(mark)))
            self.rows["fills"].append((addr, expiry, ev["target"], "TAKE_OVER", *where[:3], where[3],
                                       str(-ev["size"]), notional, "0", None, None, None, None, None, None, None,
                                       ev["trader"], _f(mark)))
        if name in MOVES_AMM:
            self._amm_row(addr, inst, expiry, "event", *where)
            self._range_status(addr, inst, expiry, where[0])

    def _trade_fills(self, inst, addr, ev, exp, where) -> None:
        n = ev["entry_notional"]
        walk = exp.get("_walk") if exp else None
        taken = abs(ev["taken_size"])
        curve = walk.curve_size if walk is not None else abs(ev["size"]) - taken
        kind, who, other = (("MARKET", ev["trader"], None) if ev["event"] == "Trade"
                            else ("LIQUIDATION", ev["trader"], ev["operator"]))
        price = n / abs(ev["size"]) if ev["size"] else None
        maker = walk.maker_fee if walk is not None else ev["taken_value"] * ev["fee_ratio"] // 10_000
        fee, protocol, lp = fee_split(n, ev["fee_ratio"], inst.param.protocol_fee_ratio, maker,
                                      inst.pairs[ev["expiry"]].amm.total_liquidity > 0)  # as the engine books it
        self.rows["fills"].append((addr, ev["expiry"], who, kind, *where[:3], where[3], str(ev["size"]), str(n),
                                   str(fee), str(taken), str(curve), str(maker), str(lp), str(protocol), None, None,
                                   other, price))

    def _close_order(self, addr, ev, where) -> None:
        key = (addr, ev["expiry"], ev["trader"], oid(ev["tick"], ev["nonce"]))
        row = self.open_orders.pop(key, None)
        if row is None:
            return
        filled = ev["pic_size"]
        if ev["event"] == "Fill":
            row[10] = "FILLED"
        else:
            row[10] = "PARTIAL_CANCELLED" if filled else "CANCELLED"
        row[11], row[12], row[13], row[14] = str(filled), str(ev["fee"]), where[0], where[3]
        self.touched_orders[(*key, row[7], row[8])] = row
        if filled:
            notional = ev["pic_entry_notional"]
            self.rows["fills"].append((addr, ev["expiry"], ev["trader"], "LIMIT", *where[:3], where[3], str(filled),
                                       str(notional), str(-ev["fee"]), None, None, None, None, None, ev["tick"],
                                       ev["nonce"], None, notional / abs(filled)))

    def _remove(self, addr, ev, where) -> None:
        key = (addr, ev["expiry"], ev["trader"], rid(ev["tick_lower"], ev["tick_upper"]))
        row = self.open_ranges.pop(key, None)
        if row is not None:
            self._unindex_range(key, row)
            row[13], row[15], row[16], row[17] = "REMOVED", str(ev["fee"]), where[0], where[3]
            row[18], row[19], row[20], row[21] = ev["operator"], str(ev["tip"]), str(ev["pic_size"]), str(
                ev["pic_balance"])
            self.touched_ranges[(*key, row[10], row[11])] = row
        size = ev["pic_size"]
        self.rows["fills"].append((addr, ev["expiry"], ev["trader"], "RANGE", *where[:3], where[3], str(size),
                                   str(ev["pic_entry_notional"]), str(-ev["fee"]), None, None, None, None, None,
                                   None, None,
                                   ev["operator"] if ev["operator"] != ev["trader"] else None,
                                   ev["pic_entry_notional"] / abs(size) if size else None))

    def _index_range(self, key, row) -> None:
        pair = (key[0], key[1])
        if pair not in self.last_tick:
            self.last_tick[pair] = self.r.state.instruments[key[0]].pairs[key[1]].amm.tick
        for bound in (row[3], row[4]):
            insort(self.bounds[pair], (bound, key))

    def _unindex_range(self, key, row) -> None:
        b = self.bounds[(key[0], key[1])]
        for bound in (row[3], row[4]):
            del b[bisect_right(b, (bound, key)) - 1]

    def _range_status(self, addr, inst, expiry, block) -> None:
        """Mark when an open range leaves its price range (and clear it when the price comes back).
        `tl <= tick < tu` can only change for a bound in (min(old, new), max(old, new)]."""
        tick = inst.pairs[expiry].amm.tick
        pair = (addr, expiry)
        old = self.last_tick.get(pair, tick)
        self.last_tick[pair] = tick
        if old == tick or pair not in self.bounds:
            return
        b = self.bounds[pair]
        lo, hi = min(old, tick), max(old, tick)
        i = bisect_right(b, lo, key=lambda e: e[0])  # the first bound above lo
        crossed = set()
        while i < len(b) and b[i][0] <= hi:
            crossed.add(b[i][1])
            i += 1
        for key in crossed:
            row = self.open_ranges[key]
            inside = row[3] <= tick < row[4]
            if inside and row[22] is not None:
                row[22] = None
                self.touched_ranges[(*key, row[10], row[11])] = row
            elif not inside and row[22] is None:
                row[22] = block
                self.touched_ranges[(*key, row[10], row[11])] = row


def _unrid(key: int) -> tuple[int, int]:
    lo, hi = key >> 24 & 0xFFFFFF, key & 0xFFFFFF
    return (lo - (1 << 24) if lo & 0x800000 else lo), (hi - (1 << 24) if hi & 0x800000 else hi)
