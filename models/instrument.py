"""An instrument's state machine (spec §5, §6): actions in, the events the contract would emit out.

Each action runs the rules of spec §6 on exact integers and returns event dicts keyed by the field names of
``models.events`` (plus "event").  The devnet's simulator calls these with ``check=True`` (refusing what the
contract would revert); the replay calls them with ``check=False`` on the inputs found in primary events and
compares what they return with what the chain emitted.

Emission order inside one action (our choice; spec §11.3 leaves it open): UpdateFundingIndex (and
UpdateSocialLossInsuranceFund when funding fed the insurance fund), FundingFee per realised position, the
primary event, UpdateFeeState, UpdatePosition per changed position, UpdateSocialLossInsuranceFund.
Gate Scatter/Gather for margin moved are returned too (source "gate", native decimals).

Choices where the spec says [I] (each tested in tests/models):
- LP fee of a trade = floor(N*feeRatio/1e4) minus the makers' rebates, spread over totalLiquidity (spec §6.3).
  With no liquidity at all the LP share goes to the protocol fee.
- Taker fee = floor(N*feeRatio/1e4) + floor(N*protocolFeeRatio/1e4), so taker fee = maker + LP + protocol.
- Trade.takenSize carries the taker's sign.
- totalLong/totalShort count positions plus taken-but-unsettled orders; openInterests = max of the two.
- A partial cancel takes its filled part and fee share out of the pearl's epoch (so later Fills share what
  is left pro rata).
- Mark = the market's smoothed spot (UpdateSpotState) for perps and dated futures alike.
"""
from dataclasses import dataclass, field

from .constants import (FUNDING_PERIOD, ORDER_SPACING, PERP_EXPIRY, RANGE_SPACING, RATIO_BASE, UINT128_MAX, Condition,
                        Status)
from .funding import funding_step, pack_funding_index
from .pair import InsufficientLiquidity, Pair
from .pearl import oid, rid
from .position import Position, combine, equity, is_im_safe, is_mm_safe, realise
from .range_math import liquidity_from_margin, range_to_position
from .tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_at_sqrt_ratio, tick_to_wad, wad_to_sqrt
from .wad import bps_of_down, r2w, wmul


class Rejected(ValueError):
    """The contract would revert this action."""


@dataclass(slots=True)
class QuoteParam:
    min_margin_amount: int = 10**17
    trading_fee_ratio: int = 3
    protocol_fee_ratio: int = 2
    stability_fee_ratio_param: int = 0
    qtype: int = 1
    tip: int = 10**14


@dataclass(slots=True)
class Order:
    balance: int
    size: int
    nonce: int


@dataclass(slots=True)
class Range:
    liquidity: int
    entry_fee_index: int
    balance: int
    sqrt_entry_px96: int


@dataclass
class Instrument:
    address: str
    quote_decimals: int = 18
    imr: int = 1000
    mmr: int = 500
    param: QuoteParam = field(default_factory=QuoteParam)
    funding_hour: int = 0
    condition: int = Condition.NORMAL
    spot: int = 0  # the smoothed spot index (WAD), from the market's UpdateSpotState
    pairs: dict = field(default_factory=dict)
    positions: dict = field(default_factory=dict)  # (expiry, trader) -> Position
    orders: dict = field(default_factory=dict)  # (expiry, trader, oid) -> Order
    ranges: dict = field(default_factory=dict)  # (expiry, trader, rid) -> Range

    # --- helpers -----------------------------------------------------------------------------------------
    def pair(self, expiry: int) -> Pair:
        p = self.pairs.get(expiry)
        if p is None:
            p = self.pairs[expiry] = Pair(expiry)
        return p

    def mark(self, expiry: int) -> int:
        if expiry != PERP_EXPIRY and self.pairs.get(expiry) and self.pairs[expiry].amm.status == Status.SETTLED:
            return self.pairs[expiry].amm.settlement_price
        return self.spot

    def _period(self) -> int:
        return self.funding_hour * 3600 if self.funding_hour else FUNDING_PERIOD

    def _to_native(self, wad: int) -> int:
        return wad // 10 ** (18 - self.quote_decimals)

    def _gate(self, name: str, trader: str, expiry: int, wad: int) -> dict:
        pair = self.pair(expiry)
        if name == "Scatter":
            pair.amm.involved_fund += wad
        else:
            pair.amm.involved_fund -= wad
        return {"event": name, "source": "gate", "quote": None, "trader": trader, "instrument": self.address,
                "expiry": expiry, "quantity": self._to_native(wad)}

    def _touch(self, pair: Pair, now: int, out: list) -> None:
        """Lazy funding update (perps, while trading)."""
        a = pair.amm
        if a.expiry != PERP_EXPIRY or a.status != Status.TRADING:
            return
        dt = now - a.timestamp
        if dt <= 0:
            return
        a.timestamp = now
        dl, ds, fund = funding_step(sqrt_to_wad(a.sqrt_px96), self.spot, dt, self._period(), a.total_long,
                                    a.total_short)
        if dl or ds:
            a.long_funding_index += dl
            a.short_funding_index += ds
            out.append({"event": "UpdateFundingIndex",
                        "funding_index": pack_funding_index(a.long_funding_index, a.short_funding_index)})
        if fund:
            a.insurance_fund += fund
            out.append(self._sl_event(a))

    @staticmethod
    def _sl_event(a) -> dict:
        return {"event": "UpdateSocialLossInsuranceFund", "expiry": a.expiry,
                "long_social_loss_index": a.long_social_loss_index,
                "short_social_loss_index": a.short_social_loss_index, "insurance_fund": a.insurance_fund}

    def _realised(self, pair: Pair, trader: str, out: list) -> Position:
        """The trader's position with funding and social loss realised (emits FundingFee)."""
        a = pair.amm
        pos = self.positions.get((a.expiry, trader))
        pos = pos.copy() if pos else Position()
        f = realise(pos, a.long_funding_index, a.short_funding_index, a.long_social_loss_index,
                    a.short_social_loss_index, a.expiry == PERP_EXPIRY)
        if f:
            out.append({"event": "FundingFee", "trader": trader, "funding": f})
        return pos

    def _store(self, pair: Pair, trader: str, new: Position, out: list, phantom: int = 0) -> None:
        """Save a position, keep OI in step, emit UpdatePosition.  `phantom` is taken order size (makers'
        sign) that the OI already counted and that this change settles."""
        a = pair.amm
        key = (a.expiry, trader)
        old = self.positions.get(key)
        old_size = old.size if old else 0
        if phantom > 0:
            a.total_long -= phantom
        elif phantom < 0:
            a.total_short += phantom
        a.total_long += max(new.size, 0) - max(old_size, 0)
        a.total_short += max(-new.size, 0) - max(-old_size, 0)
        a.open_interests = max(a.total_long, a.total_short)
        self.positions[key] = new
        out.append({"event": "UpdatePosition", "expiry": a.expiry, "trader": trader, **_pic(new)})

    def _fee_event(self, a) -> dict:
        return {"event": "UpdateFeeState", "expiry": a.expiry, "fee_index": a.fee_index,
                "protocol_fee": a.protocol_fee}

    def _trading(self, pair: Pair, check: bool) -> None:
        if check and (pair.amm.status != Status.TRADING or self.condition != Condition.NORMAL):
            raise Rejected("pair is not trading")

    # --- parameters and oracle ----------------------------------------------------------------------------
    def update_param(self, param: QuoteParam) -> list:
        self.param = param
        return [{"event": "UpdateParam", "param_min_margin_amount": param.min_margin_amount,
                 "param_trading_fee_ratio": param.trading_fee_ratio,
                 "param_protocol_fee_ratio": param.protocol_fee_ratio,
                 "param_stability_fee_ratio_param": param.stability_fee_ratio_param,
                 "param_qtype": param.qtype, "param_tip": param.tip}]

    def update_margin_ratio(self, imr: int, mmr: int) -> list:
        self.imr, self.mmr = imr, mmr
        return [{"event": "UpdateMarginRatio", "initial_margin_ratio": imr, "maintenance_margin_ratio": mmr}]

    def update_funding_hour(self, hours: int) -> list:
        self.funding_hour = hours
        return [{"event": "UpdateFundingHour", "funding_hour": hours}]

    def update_spot(self, spot: int, raw: int, now: int) -> list:
        self.spot = spot
        return [{"event": "UpdateSpotState", "source": "market", "instrument": self.address,
                 "state_time": now, "state_spot": spot, "state_raw": raw}]

    def update_condition(self, condition: int, now: int) -> list:
        self.condition = condition
        return [{"event": "UpdateCondition", "timestamp": now, "condition": condition}]

    def update_status(self, expiry: int, status: int, now: int, settlement: int = 0) -> list:
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        a.status = status
        if status == Status.SETTLING:
            a.timestamp = now
        if status == Status.SETTLED:
            a.settlement_price = settlement
        mark = settlement if status == Status.SETTLED else self.mark(expiry)
        out.append({"event": "UpdateAmmStatus", "expiry": expiry, "status": status, "sqrt_px96": a.sqrt_px96,
                    "mark": mark})
        return out

    def claim_protocol_fee(self, expiry: int) -> list:
        a = self.pair(expiry).amm
        amount, a.protocol_fee = a.protocol_fee, 0
        return [{"event": "ClaimProtocolFee", "expiry": expiry, "amount": amount}]

    # --- ranges -------------------------------------------------------------------------------------------
    def add(self, expiry: int, trader: str, tick_lower: int, tick_upper: int, margin: int, now: int,
            check: bool = True) -> list:
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        first = a.status == Status.DORMANT
        if first and self.spot == 0:
            raise Rejected("no mark price to open the pair at")
        # The first Add opens the pair at the mark price (spec §4.1: it sets the initial price).
        sqrt_now = wad_to_sqrt(self.spot) if first else a.sqrt_px96
        tick_now = tick_at_sqrt_ratio(sqrt_now) if first else a.tick
        key = (expiry, trader, rid(tick_lower, tick_upper))
        if check:
            if not first:
                self._trading(pair, check)
            if key in self.ranges:
                raise Rejected("range exists")
            if tick_lower % RANGE_SPACING or tick_upper % RANGE_SPACING or not tick_lower <= tick_now < tick_upper:
                raise Rejected("bad range ticks")
            if margin * RATIO_BASE // self.imr < 10 * self.param.min_margin_amount * RATIO_BASE // self.imr:
                raise Rejected("range below minimum value")
        if first:
            a.sqrt_px96, a.tick, a.status, a.timestamp = sqrt_now, tick_now, Status.TRADING, now
        else:
            self._touch(pair, now, out)
        s_l, s_u = sqrt_ratio_at_tick(tick_lower), sqrt_ratio_at_tick(tick_upper)
        liq = liquidity_from_margin(margin, a.sqrt_px96, s_l, s_u, self.imr)
        if liq <= 0:
            raise Rejected("no liquidity from that margin")
        pair.add_liquidity(tick_lower, tick_upper, liq)
        r = Range(liq, a.fee_index, margin, a.sqrt_px96)
        self.ranges[key] = r
        out.append(self._gate("Scatter", trader, expiry, margin))
        out.append({"event": "Add", "expiry": expiry, "trader": trader, "tick_lower": tick_lower,
                    "tick_upper": tick_upper, **_range_fields(r)})
        if first:
            out.append({"event": "UpdateAmmStatus", "expiry": expiry, "status": Status.TRADING,
                        "sqrt_px96": a.sqrt_px96, "mark": self.mark(expiry)})
        return out

    def range_value(self, expiry: int, trader: str, tick_lower: int, tick_upper: int):
        pair = self.pair(expiry)
        a = pair.amm
        r = self.ranges[(expiry, trader, rid(tick_lower, tick_upper))]
        return range_to_position(r.liquidity, r.entry_fee_index, a.fee_index, r.sqrt_entry_px96,
                                 sqrt_ratio_at_tick(tick_lower), sqrt_ratio_at_tick(tick_upper), a.sqrt_px96,
                                 sqrt_to_wad(a.sqrt_px96))

    def remove(self, expiry: int, trader: str, tick_lower: int, tick_upper: int, operator: str, now: int,
               check: bool = True) -> list:
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        key = (expiry, trader, rid(tick_lower, tick_upper))
        r = self.ranges.get(key)
        if r is None:
            raise Rejected("no such range")
        if check and operator != trader and tick_lower <= a.tick < tick_upper:
            raise Rejected("only the owner removes a range that is in range")
        self._touch(pair, now, out)
        v = self.range_value(expiry, trader, tick_lower, tick_upper)
        tip = self.param.tip if operator != trader else 0
        del self.ranges[key]
        pair.remove_liquidity(tick_lower, tick_upper, r.liquidity)
        price = sqrt_to_wad(a.sqrt_px96)
        pic = Position(r.balance + v.fee + v.pnl - 1 - tip, v.size, wmul(abs(v.size), price),
                       a.long_social_loss_index if v.size > 0 else a.short_social_loss_index,
                       (a.long_funding_index if v.size > 0 else a.short_funding_index)
                       if expiry == PERP_EXPIRY and v.size else 0)
        if v.size == 0:
            pic.entry_social_loss_index = pic.entry_funding_index = 0
        pos = self._realised(pair, trader, out)
        merged, _ = combine(pos, pic)
        out.append({"event": "Remove", "expiry": expiry, "trader": trader, "tick_lower": tick_lower,
                    "tick_upper": tick_upper, "fee": v.fee, **_pic(pic), "operator": operator, "tip": tip})
        if tip:
            out.append(self._gate("Gather", operator, expiry, tip))
        self._store(pair, trader, merged, out)
        return out

    def withdraw_range_fee(self, expiry: int, trader: str, tick_lower: int, tick_upper: int, operator: str,
                           now: int) -> list:
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        key = (expiry, trader, rid(tick_lower, tick_upper))
        r = self.ranges.get(key)
        if r is None:
            raise Rejected("no such range")
        fee = (a.fee_index - r.entry_fee_index) * r.liquidity // 10**18
        r.entry_fee_index = a.fee_index
        out.append({"event": "WithdrawRangeFee", "expiry": expiry, "trader": trader, "rid": key[2], "fee": fee,
                    "operator": operator, **_range_fields(r)})
        if fee:
            out.append(self._gate("Gather", trader, expiry, fee))
        return out

    # --- orders -------------------------------------------------------------------------------------------
    def place(self, expiry: int, trader: str, tick: int, size: int, balance: int, now: int,
              check: bool = True) -> list:
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        if check:
            self._trading(pair, check)
            if tick % ORDER_SPACING or size == 0:
                raise Rejected("bad order")
            if (size > 0 and tick >= a.tick) or (size < 0 and tick <= a.tick):
                raise Rejected("bids below the price, asks above it")
            value = wmul(tick_to_wad(tick), abs(size))
            if value < 2 * self.param.min_margin_amount * RATIO_BASE // self.imr:
                raise Rejected("order below minimum value")
            if balance < wmul(value, r2w(self.imr)):
                raise Rejected("order margin below IMR")
            price = tick_to_wad(tick)
            mark = self.mark(expiry)
            if abs(price - mark) * RATIO_BASE > 2 * self.imr * mark:
                raise Rejected("order too far from mark")
            if pair.pearls.get(tick) and (expiry, trader, oid(tick, pair.pearls[tick].nonce)) in self.orders:
                raise Rejected("tick occupied")
        self._touch(pair, now, out)
        nonce = pair.place(tick, size)
        pair.order_opened(tick, nonce)
        self.orders[(expiry, trader, oid(tick, nonce))] = Order(balance, size, nonce)
        out.append(self._gate("Scatter", trader, expiry, balance))
        out.append({"event": "Place", "expiry": expiry, "trader": trader, "tick": tick, "nonce": nonce,
                    "order_balance": balance, "order_size": size})
        return out

    def _order_position(self, pair: Pair, tick: int, size: int, sl: int, fi: int, balance: int) -> Position:
        return Position(balance, size, wmul(tick_to_wad(tick), abs(size)), sl,
                        fi if pair.amm.expiry == PERP_EXPIRY else 0)

    def cancel(self, expiry: int, trader: str, tick: int, nonce: int, now: int, check: bool = True) -> list:
        pair = self.pair(expiry)
        out: list = []
        key = (expiry, trader, oid(tick, nonce))
        o = self.orders.get(key)
        p = pair.pearls.get(tick)
        if o is None or p is None or o.nonce != p.nonce:
            raise Rejected("no live order to cancel")
        self._touch(pair, now, out)
        del self.orders[key]
        pair.order_closed(tick, nonce)
        if abs(p.left) >= abs(o.size) and (p.left > 0) == (o.size > 0):
            pair.unplace(tick, o.size)
            out.append(self._gate("Gather", trader, expiry, o.balance))
            out.append({"event": "Cancel", "expiry": expiry, "trader": trader, "tick": tick, "nonce": nonce,
                        "fee": 0, **_pic(Position())})
            return out
        filled = o.size - p.left
        fee = p.fee * abs(filled) // abs(p.taken)
        pic = self._order_position(pair, tick, filled, p.entry_social_loss_index, p.entry_funding_index,
                                   o.balance + fee)
        # The filled part and its rebate leave the epoch; the unfilled rest (all of `left`) is cancelled.
        p.taken -= filled
        p.fee -= fee
        pair.unplace(tick, p.left)
        pos = self._realised(pair, trader, out)
        merged, _ = combine(pos, pic)
        out.append({"event": "Cancel", "expiry": expiry, "trader": trader, "tick": tick, "nonce": nonce,
                    "fee": fee, **_pic(pic)})
        self._store(pair, trader, merged, out, phantom=filled)
        return out

    def fill(self, expiry: int, trader: str, tick: int, nonce: int, operator: str, now: int,
             check: bool = True) -> list:
        pair = self.pair(expiry)
        out: list = []
        key = (expiry, trader, oid(tick, nonce))
        o = self.orders.get(key)
        rec = pair.records.get((tick, nonce))
        if o is None or rec is None:
            raise Rejected("order not fully taken")
        self._touch(pair, now, out)
        del self.orders[key]
        fee = rec.fee * abs(o.size) // abs(rec.taken)
        tip = self.param.tip if operator != trader else 0
        pic = self._order_position(pair, tick, o.size, rec.entry_social_loss_index, rec.entry_funding_index,
                                   o.balance + fee - tip)
        pair.order_closed(tick, nonce)  # after the record's share was taken
        pos = self._realised(pair, trader, out)
        merged, _ = combine(pos, pic)
        out.append({"event": "Fill", "expiry": expiry, "trader": trader, "tick": tick, "nonce": nonce,
                    "fee": fee, **_pic(pic), "operator": operator, "tip": tip})
        if tip:
            out.append(self._gate("Gather", operator, expiry, tip))
        self._store(pair, trader, merged, out, phantom=o.size)
        return out

    # --- trading ------------------------------------------------------------------------------------------
    def _walk_and_fee(self, pair: Pair, size: int, fee_ratio: int):
        a = pair.amm
        res = pair.walk(size, fee_ratio)
        n = res.entry_notional
        trading_fee = bps_of_down(n, fee_ratio)
        protocol_fee = bps_of_down(n, self.param.protocol_fee_ratio)
        lp_fee = trading_fee - res.maker_fee
        if a.total_liquidity > 0:
            a.fee_index += lp_fee * 10**18 // a.total_liquidity
        else:
            protocol_fee += lp_fee
        a.protocol_fee += protocol_fee
        return res, trading_fee + bps_of_down(n, self.param.protocol_fee_ratio)

    def _deviation_ok(self, pair: Pair, sqrt_before: int) -> bool:
        """A trade may not push the fair price past IMR from mark (spec §6.6, the SDK's withinDeviationLimit);
        one that leaves it outside but closer than before (an arbitrage back toward mark) is allowed."""
        mark = self.spot
        after = abs(sqrt_to_wad(pair.amm.sqrt_px96) - mark)
        return after * RATIO_BASE <= self.imr * mark or after < abs(sqrt_to_wad(sqrt_before) - mark)

    def trade(self, expiry: int, trader: str, size: int, amount: int, now: int, fee_ratio: int | None = None,
              check: bool = True) -> list:
        if check:
            return self._guarded(expiry, self._trade, expiry, trader, size, amount, now, fee_ratio, check)
        return self._trade(expiry, trader, size, amount, now, fee_ratio, check)

    def _trade(self, expiry, trader, size, amount, now, fee_ratio, check):
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._trading(pair, check)
        if size == 0:
            raise Rejected("zero size")
        self._touch(pair, now, out)
        fee_ratio = self.param.trading_fee_ratio if fee_ratio is None else fee_ratio
        sqrt_before = a.sqrt_px96
        res, taker_fee = self._walk_and_fee(pair, size, fee_ratio)
        n = res.entry_notional
        pos = self._realised(pair, trader, out)
        taker = Position(amount - taker_fee, size, n, a.long_social_loss_index if size > 0
                         else a.short_social_loss_index,
                         (a.long_funding_index if size > 0 else a.short_funding_index)
                         if expiry == PERP_EXPIRY else 0)
        merged, _ = combine(pos, taker)
        if check:
            reducing = pos.size and (pos.size > 0) != (size > 0) and abs(size) <= abs(pos.size)
            if not self._deviation_ok(pair, sqrt_before):
                raise Rejected("trade would push the fair price past the deviation limit")
            if not reducing and not is_im_safe(merged, self.mark(expiry), self.imr):
                raise Rejected("trade leaves the taker below IMR")
            if n < self.param.min_margin_amount * RATIO_BASE // self.imr // 10:
                raise Rejected("trade below the minimum value")
        if amount:
            out.append(self._gate("Scatter", trader, expiry, amount))
        out.append({"event": "Trade", "expiry": expiry, "trader": trader, "size": size, "amount": amount,
                    "taken_size": res.taken_size if size > 0 else -res.taken_size, "taken_value": res.taken_value,
                    "entry_notional": n, "fee_ratio": fee_ratio, "sqrt_px96": a.sqrt_px96,
                    "mark": self.mark(expiry)})
        out[-1]["_walk"] = res  # on the Trade event, for the fills table; stripped before encoding
        out.append(self._fee_event(a))
        self._store(pair, trader, merged, out)
        return out

    def adjust(self, expiry: int, trader: str, net: int, now: int, check: bool = True) -> list:
        if check:
            return self._guarded(expiry, self._adjust, expiry, trader, net, now, check)
        return self._adjust(expiry, trader, net, now, check)

    def _adjust(self, expiry, trader, net, now, check):
        pair = self.pair(expiry)
        out: list = []
        self._touch(pair, now, out)
        pos = self._realised(pair, trader, out)
        pos.balance += net
        if check and net < 0 and pos.size and not is_im_safe(pos, self.mark(expiry), self.imr):
            raise Rejected("withdrawal breaks IMR")
        out.append(self._gate("Scatter" if net > 0 else "Gather", trader, expiry, abs(net)))
        out.append({"event": "Adjust", "expiry": expiry, "trader": trader, "net": net})
        self._store(pair, trader, pos, out)
        return out

    def _cover_loss(self, pair: Pair, deficit: int, bankrupt_long: bool) -> bool:
        """Insurance fund first, then social loss on the other side.  Returns whether indices changed."""
        a = pair.amm
        if deficit <= 0:
            return False
        use = min(deficit, a.insurance_fund)
        a.insurance_fund -= use
        rest = deficit - use
        if rest:
            other = a.total_short if bankrupt_long else a.total_long
            if other:
                inc = -((-rest * 10**18) // other)
                index = (a.short_social_loss_index if bankrupt_long else a.long_social_loss_index) + inc
                if index > UINT128_MAX:  # the index is a uint128 on chain: the action reverts
                    raise Rejected("social loss index would overflow uint128")
                if bankrupt_long:
                    a.short_social_loss_index = index
                else:
                    a.long_social_loss_index = index
        return True

    def liquidate(self, expiry: int, liquidator: str, target: str, size: int, amount: int, now: int,
                  check: bool = True) -> list:
        """Take-over liquidation at mark (spec §6.7).  `size` has the target's sign."""
        return self._guarded(expiry, self._liquidate, expiry, liquidator, target, size, amount, now, check)

    def _guarded(self, expiry: int, fn, *args):
        """Run an action that may refuse after the funding touch; a refusal leaves the pair untouched."""
        pair = self.pair(expiry)
        pair.begin()
        try:
            out = fn(*args)
        except (Rejected, InsufficientLiquidity):
            pair.rollback()
            raise
        pair.commit()
        return out

    def _liquidate(self, expiry, liquidator, target, size, amount, now, check):
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        mark = self.mark(expiry)
        tpos = self._realised(pair, target, out)
        if check and (tpos.size == 0 or is_mm_safe(tpos, mark, self.mmr)):
            raise Rejected("target is not liquidatable")
        if abs(size) > abs(tpos.size) or (size > 0) != (tpos.size > 0):
            raise Rejected("bad liquidation size")
        eq = equity(tpos, mark)
        changed = False
        if eq < 0:
            changed = self._cover_loss(pair, -eq, tpos.size > 0)
            eq = 0
        tpos = Position(eq, tpos.size, wmul(mark, abs(tpos.size)), tpos.entry_social_loss_index,
                        tpos.entry_funding_index)
        part_balance = eq * abs(size) // abs(tpos.size)
        moved = Position(part_balance + amount, size, wmul(mark, abs(size)),
                         a.long_social_loss_index if size > 0 else a.short_social_loss_index,
                         (a.long_funding_index if size > 0 else a.short_funding_index)
                         if expiry == PERP_EXPIRY else 0)
        rest_size = tpos.size - size
        rest = Position(eq - part_balance, rest_size, tpos.entry_notional - moved.entry_notional if rest_size else 0,
                        tpos.entry_social_loss_index if rest_size else 0,
                        tpos.entry_funding_index if rest_size else 0)
        lpos = self._realised(pair, liquidator, out)
        merged, _ = combine(lpos, moved)
        if check and not is_im_safe(merged, mark, self.imr):
            raise Rejected("liquidator below IMR")
        if amount:
            out.append(self._gate("Scatter", liquidator, expiry, amount))
        out.append({"event": "Liquidate", "expiry": expiry, "trader": liquidator, "amount": amount, "mark": mark,
                    "target": target, "size": size})
        self._store(pair, target, rest, out)
        self._store(pair, liquidator, merged, out)
        if changed:
            out.append(self._sl_event(a))
        return out

    def sweep(self, expiry: int, operator: str, target: str, size: int, now: int, check: bool = True) -> list:
        """Force-close `size` (opposite to the target's position) against the AMM (spec §6.7)."""
        return self._guarded(expiry, self._sweep, expiry, operator, target, size, now, check)

    def _sweep(self, expiry, operator, target, size, now, check):
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        tpos = self._realised(pair, target, out)
        if check and (tpos.size == 0 or (size > 0) == (tpos.size > 0) or abs(size) > abs(tpos.size)):
            raise Rejected("bad sweep")
        fee_ratio = self.param.trading_fee_ratio
        res, taker_fee = self._walk_and_fee(pair, size, fee_ratio)
        n = res.entry_notional
        closing = Position(-taker_fee, size, n, tpos.entry_social_loss_index, tpos.entry_funding_index)
        merged, _ = combine(tpos, closing)
        changed = False
        if merged.size == 0:
            if merged.balance >= 0:
                a.insurance_fund += merged.balance
            else:
                self._cover_loss(pair, -merged.balance, tpos.size > 0)
            merged = Position()
            changed = True
        out.append({"event": "Sweep", "expiry": expiry, "trader": target, "size": size,
                    "taken_size": res.taken_size if size > 0 else -res.taken_size, "taken_value": res.taken_value,
                    "entry_notional": n, "fee_ratio": fee_ratio, "sqrt_px96": a.sqrt_px96, "mark": self.mark(expiry),
                    "operator": operator})
        out[-1]["_walk"] = res
        out.append(self._fee_event(a))
        self._store(pair, target, merged, out)
        if changed:
            out.append(self._sl_event(a))
        return out

    def settle(self, expiry: int, trader: str, operator: str, now: int) -> list:
        """After SETTLED: close the trader's orders, ranges and position at the settlement price."""
        pair = self.pair(expiry)
        a = pair.amm
        if a.status != Status.SETTLED:
            raise Rejected("pair not settled")
        price = a.settlement_price
        out: list = [{"event": "Settle", "expiry": expiry, "trader": trader, "settlement": price, "balance": 0,
                      "operator": operator}]
        head = out[0]
        for (e, t, key), o in list(self.orders.items()):
            if e == expiry and t == trader:
                tick = key >> 24
                tick = tick - (1 << 24) if tick & 0x800000 else tick
                if (tick, o.nonce) in pair.records:
                    out += self.fill(expiry, trader, tick, o.nonce, trader, now, check=False)
                else:
                    out += self.cancel(expiry, trader, tick, o.nonce, now, check=False)
        for (e, t, key), r in list(self.ranges.items()):
            if e == expiry and t == trader:
                tl, tu = key >> 24, key & 0xFFFFFF
                tl = tl - (1 << 24) if tl & 0x800000 else tl
                tu = tu - (1 << 24) if tu & 0x800000 else tu
                out += self.remove(expiry, trader, tl, tu, trader, now, check=False)
        pos = self._realised(pair, trader, out)
        payout = max(equity(pos, price), 0)
        head["balance"] = payout
        self._store(pair, trader, Position(), out)
        if payout:
            out.append(self._gate("Gather", trader, expiry, payout))
        return out


def _pic(p: Position) -> dict:
    return {"pic_balance": p.balance, "pic_size": p.size, "pic_entry_notional": p.entry_notional,
            "pic_entry_social_loss_index": p.entry_social_loss_index, "pic_entry_funding_index": p.entry_funding_index}


def _range_fields(r: Range) -> dict:
    return {"range_liquidity": r.liquidity, "range_entry_fee_index": r.entry_fee_index, "range_balance": r.balance,
            "range_sqrt_entry_px96": r.sqrt_entry_px96}
