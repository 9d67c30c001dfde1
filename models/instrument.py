"""An instrument's state machine (docs/protocol-rules.md): actions in, the events the contract would emit out.

Each action runs the protocol's rules on exact integers and returns event dicts keyed by the field names of
``models.events`` (plus "event").  The devnet's simulator calls these with ``check=True`` (refusing what the
contract would revert); the replay calls them with ``check=False`` on the inputs found in primary events and
compares what they return with what the chain emitted.  The rules follow SynFutures' own replay engine
(GitHub SynFutures/oyster-sdk: src/types/{pair,account,position,range,order}.ts) where it has them.

Emission order inside one action (our choice where nothing public shows it): UpdateFundingIndex (and
UpdateSocialLossInsuranceFund when funding fed the insurance fund), FundingFee per merge, the primary event,
UpdateFeeState, UpdatePosition per changed position (then a Gather when a position closed to size 0 released
its margin), UpdateSocialLossInsuranceFund.  Gate Scatter/Gather for margin moved are returned too (source
"gate", native decimals).  Settle comes after the Cancel/Fill/Remove events that settle the trader's orders and
ranges (SynFutures' replay expects that order).

Choices where no public source decides (each tested in tests/models):
- Fee split (models.fees.fee_split): the protocol keeps floor(N*protocolFeeRatio/1e4), makers their floored
  rebates, LPs the rest of the rounded-up taker fee, spread over totalLiquidity (floor).  With no liquidity at
  all the LP share goes to the protocol fee.
- Trade.takenSize carries the taker's sign.
- FundingFee(trader, funding) carries the funding realised by one merge, both sides summed.
- Scatter moves ceil(wad / 10^(18-decimals)) native units (the trader pays the dust), Gather
  floor(wad / 10^(18-decimals)); involvedFund moves by the native quantity scaled back to WAD.
- A position closed to size 0 with a balance >= 0 is deleted and its balance gathered to the Gate (one whose
  balance is negative stays as a debt).
- A removed range's position is net of the tip paid to a third-party remover.
- Mark = the market's smoothed spot (UpdateSpotState) for perps and dated futures alike.
"""
from dataclasses import dataclass, field

from .constants import (FUNDING_PERIOD, ORDER_SPACING, PERP_EXPIRY, RANGE_SPACING, RATIO_BASE, UINT128_MAX, Condition,
                        Status)
from .fees import fee_split
from .funding import funding_step, pack_funding_index
from .pair import InsufficientLiquidity, Pair
from .pearl import oid, rid
from .position import (Indices, Position, closed_size, combine, equity, equity_unrealised, is_im_safe, realise,
                       realise_funding, split)
from .range_math import entry_base, liquidity_from_margin, range_to_position
from .tick_math import sqrt_ratio_at_tick, sqrt_to_wad, tick_at_sqrt_ratio, tick_to_wad
from .wad import r2w, wmul


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
    order_spacing: int = ORDER_SPACING  # 5 on Base and Blast, 1 on chains with the current ABI
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
            p = self.pairs[expiry] = Pair(expiry, self.order_spacing)
        return p

    def mark(self, expiry: int) -> int:
        if expiry != PERP_EXPIRY and self.pairs.get(expiry) and self.pairs[expiry].amm.status == Status.SETTLED:
            return self.pairs[expiry].amm.settlement_price
        return self.spot

    def _period(self) -> int:
        return self.funding_hour * 3600 if self.funding_hour else FUNDING_PERIOD

    def _gate(self, name: str, trader: str, expiry: int, wad: int) -> dict:
        """A Gate Scatter (margin in) or Gather (margin out) of `wad`, in the quote's native decimals."""
        pair = self.pair(expiry)
        scale = 10 ** (18 - self.quote_decimals)
        if name == "Scatter":
            quantity = -(-wad // scale)
            pair.amm.involved_fund += quantity * scale
        else:
            quantity = wad // scale
            pair.amm.involved_fund = max(pair.amm.involved_fund - quantity * scale, 0)
        return {"event": name, "source": "gate", "quote": None, "trader": trader, "instrument": self.address,
                "expiry": expiry, "quantity": quantity}

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

    @staticmethod
    def _indices(a) -> Indices:
        return Indices(a.long_funding_index, a.short_funding_index, a.long_social_loss_index,
                       a.short_social_loss_index, a.expiry == PERP_EXPIRY)

    def _position(self, pair: Pair, trader: str) -> Position:
        """A copy of the trader's position (empty if it has none)."""
        pos = self.positions.get((pair.amm.expiry, trader))
        return pos.copy() if pos else Position()

    def _merge(self, pair: Pair, trader: str, pos: Position, pic: Position, out: list,
               idx: Indices | None = None) -> Position:
        """Net `pic` into the trader's `pos`: funding and social loss of both realised first (every merge does,
        SDK combine), then the sides netted; openInterests loses the closed size."""
        idx = idx or self._indices(pair.amm)
        pic = pic.copy()
        f = realise(pos, idx) + realise(pic, idx)
        if f:
            out.append({"event": "FundingFee", "trader": trader, "funding": f})
        pair.amm.open_interests -= closed_size(pos, pic)
        return combine(pos, pic)[0]

    def _store(self, pair: Pair, trader: str, new: Position, out: list, phantom: int = 0,
               release: bool = True) -> None:
        """Save a position, keep totalLong/totalShort in step, emit UpdatePosition.  `phantom` is taken order
        size (makers' sign) that the totals already counted and that this change settles.  A position closed
        to size 0 is deleted and, with `release`, its balance (if any) gathered back to the Gate."""
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
        gather = 0
        if new.size == 0 and new.balance >= 0 and (release or new.balance == 0):
            gather = new.balance
            new = Position()
            self.positions.pop(key, None)
        else:
            self.positions[key] = new
        out.append({"event": "UpdatePosition", "expiry": a.expiry, "trader": trader, **_pic(new)})
        if gather:
            out.append(self._gate("Gather", trader, a.expiry, gather))

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

    def open_pair(self, expiry: int, sqrt_px96: int, mark: int, now: int) -> list:
        """A pair starts trading at `sqrt_px96` (the launch), as SynFutures' contracts emit it: UpdateFundingIndex(0)
        (perpetuals: our reading of one perpetual's launch receipt), then UpdateAmmStatus(TRADING, price, mark).
        The first LP's Add follows in the same transaction."""
        pair = self.pair(expiry)
        a = pair.amm
        if a.status != Status.DORMANT:
            raise Rejected("pair already open")
        if self.spot == 0:
            self.spot = mark
        a.sqrt_px96, a.tick, a.status, a.timestamp = sqrt_px96, tick_at_sqrt_ratio(sqrt_px96), Status.TRADING, now
        out: list = []
        if expiry == PERP_EXPIRY:
            out.append({"event": "UpdateFundingIndex",
                        "funding_index": pack_funding_index(a.long_funding_index, a.short_funding_index)})
        out.append({"event": "UpdateAmmStatus", "expiry": expiry, "status": Status.TRADING, "sqrt_px96": sqrt_px96,
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
        key = (expiry, trader, rid(tick_lower, tick_upper))
        if check:
            self._trading(pair, check)
            if key in self.ranges:
                raise Rejected("range exists")
            if tick_lower % RANGE_SPACING or tick_upper % RANGE_SPACING or not tick_lower <= a.tick < tick_upper:
                raise Rejected("bad range ticks")
            if margin * RATIO_BASE // self.imr < 10 * self.param.min_margin_amount * RATIO_BASE // self.imr:
                raise Rejected("range below minimum value")
        self._touch(pair, now, out)
        s_l, s_u = sqrt_ratio_at_tick(tick_lower), sqrt_ratio_at_tick(tick_upper)
        liq = liquidity_from_margin(margin, a.sqrt_px96, s_l, s_u, self.imr)
        if liq <= 0:
            raise Rejected("no liquidity from that margin")
        pair.add_liquidity(tick_lower, tick_upper, liq)
        r = Range(liq, a.fee_index, margin, a.sqrt_px96)
        self.ranges[key] = r
        a.open_interests += entry_base(liq, r.sqrt_entry_px96, s_u)  # SDK PairState.applyAdd
        out.append(self._gate("Scatter", trader, expiry, margin))
        out.append({"event": "Add", "expiry": expiry, "trader": trader, "tick_lower": tick_lower,
                    "tick_upper": tick_upper, **_range_fields(r)})
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
        # entry indices of the side the range ends on; a flat range takes the short side's (SDK rangeToPosition)
        pic = Position(r.balance + v.fee + v.pnl - 1 - tip, v.size, wmul(abs(v.size), price),
                       a.long_social_loss_index if v.size > 0 else a.short_social_loss_index,
                       (a.long_funding_index if v.size > 0 else a.short_funding_index)
                       if expiry == PERP_EXPIRY else 0)
        entry_delta = entry_base(r.liquidity, r.sqrt_entry_px96, sqrt_ratio_at_tick(tick_upper))
        a.open_interests -= entry_delta - abs(v.size) if v.size < 0 else entry_delta  # SDK PairState.applyRemove
        merged = self._merge(pair, trader, self._position(pair, trader), pic, out)
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
            if tick % self.order_spacing or size == 0:
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
            # a full cancel still realises the funding of the trader's position (SDK cancelOrFillOrder)
            pos = self._position(pair, trader)
            f = realise_funding(pos, self._indices(pair.amm))
            if f:
                out.insert(-2, {"event": "FundingFee", "trader": trader, "funding": f})
                self._store(pair, trader, pos, out, release=False)
            return out
        filled = o.size - p.left
        # the last share of an epoch takes all that is left of its fee, the others a floored pro-rata share
        fee = p.fee if p.taken == filled else p.fee * abs(filled) // abs(p.taken)
        pic = self._order_position(pair, tick, filled, p.entry_social_loss_index, p.entry_funding_index,
                                   o.balance + fee)
        # The filled part and its rebate leave the epoch; the unfilled rest (all of `left`) is cancelled.
        p.taken -= filled
        p.fee -= fee
        pair.unplace(tick, p.left)
        merged = self._merge(pair, trader, self._position(pair, trader), pic, out)
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
        # each Fill takes its share out of the record, the last one all that is left (SDK fillOrderToPosition)
        fee = rec.fee if rec.taken == o.size else rec.fee * abs(o.size) // abs(rec.taken)
        rec.fee -= fee
        rec.taken -= o.size
        tip = self.param.tip if operator != trader else 0
        pic = self._order_position(pair, tick, o.size, rec.entry_social_loss_index, rec.entry_funding_index,
                                   o.balance + fee - tip)
        pair.order_closed(tick, nonce)  # after the record's share was taken
        merged = self._merge(pair, trader, self._position(pair, trader), pic, out)
        out.append({"event": "Fill", "expiry": expiry, "trader": trader, "tick": tick, "nonce": nonce,
                    "fee": fee, **_pic(pic), "operator": operator, "tip": tip})
        if tip:
            out.append(self._gate("Gather", operator, expiry, tip))
        self._store(pair, trader, merged, out, phantom=o.size)
        return out

    # --- trading ------------------------------------------------------------------------------------------
    def _walk_and_fee(self, pair: Pair, size: int, fee_ratio: int):
        """Walk the taker through orders and curve; book the fee (models.fees) and the OI of a taker
        (SDK PairState.updateLongShortOI: a long adds the size it took from orders, a short its whole size).
        Returns (walk, taker fee)."""
        a = pair.amm
        res = pair.walk(size, fee_ratio)
        n = res.entry_notional
        fee, to_protocol, to_lps = fee_split(n, fee_ratio, self.param.protocol_fee_ratio, res.maker_fee,
                                             a.total_liquidity > 0)
        if to_lps:
            a.fee_index += to_lps * 10**18 // a.total_liquidity
        a.protocol_fee += to_protocol
        a.open_interests += res.taken_size if size > 0 else abs(size)
        return res, fee

    def _deviation_ok(self, pair: Pair, sqrt_before: int) -> bool:
        """A trade may not push the fair price past IMR from mark (the SDK's withinDeviationLimit);
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
        idx = self._indices(a)
        taker = Position(amount - taker_fee, size, n, idx.social_loss(size), idx.funding(size) if idx.perp else 0)
        pos = self._position(pair, trader)
        reducing = pos.size and (pos.size > 0) != (size > 0) and abs(size) <= abs(pos.size)
        merged = self._merge(pair, trader, pos, taker, out, idx)
        if check:
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
        pos = self._position(pair, trader)
        f = realise_funding(pos, self._indices(pair.amm))  # an adjust realises funding only (SDK applyAdjust)
        if f:
            out.append({"event": "FundingFee", "trader": trader, "funding": f})
        pos.balance += net
        if check and net < 0 and (pos.balance < 0 or pos.size and not is_im_safe(pos, self.mark(expiry), self.imr)):
            raise Rejected("withdrawal breaks IMR")
        out.append(self._gate("Scatter" if net > 0 else "Gather", trader, expiry, abs(net)))
        out.append({"event": "Adjust", "expiry": expiry, "trader": trader, "net": net})
        self._store(pair, trader, pos, out, release=False)
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
        """Take-over liquidation (docs/protocol-rules.md, "Liquidation, sweep, settlement").  `size` has the target's sign."""
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

    def _take_part(self, pair: Pair, target: str, part_size: int, mark: int) -> tuple[Position, Position, bool]:
        """(part, rest, indices changed): `part_size` of the target's position split off pro rata (SDK
        splitPosition; nothing re-based at mark, the rest keeps its entry indices unrealised), the part topped
        up to zero equity at mark when it is under water, the deficit covered by the insurance fund and then
        social loss."""
        tpos = self._position(pair, target)
        part, rest = (tpos, Position()) if part_size == tpos.size else split(tpos, part_size)
        eq = equity_unrealised(part, mark, self._indices(pair.amm))
        changed = False
        if eq < 0:
            changed = self._cover_loss(pair, -eq, tpos.size > 0)
            part.balance -= eq
        return part, rest, changed

    def _liquidate(self, expiry, liquidator, target, size, amount, now, check):
        """Take-over (SDK applyLiquidateAsTarget / AsLiquidator): the liquidator receives `size` of the
        target's position with its pro-rata balance and entry notional, adds `amount`, and merges."""
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        mark = self.mark(expiry)
        tpos = self._position(pair, target)
        if check and (tpos.size == 0 or equity_unrealised(tpos, mark, self._indices(a)) >=
                      wmul(wmul(mark, abs(tpos.size)), r2w(self.mmr))):
            raise Rejected("target is not liquidatable")
        if size == 0 or abs(size) > abs(tpos.size) or (size > 0) != (tpos.size > 0):
            raise Rejected("bad liquidation size")
        part, rest, changed = self._take_part(pair, target, size, mark)
        lpos = self._position(pair, liquidator)
        lpos.balance += amount
        merged = self._merge(pair, liquidator, lpos, part, out)
        if check and not is_im_safe(merged, mark, self.imr):
            raise Rejected("liquidator below IMR")
        if amount:
            out.append(self._gate("Scatter", liquidator, expiry, amount))
        out.append({"event": "Liquidate", "expiry": expiry, "trader": liquidator, "amount": amount, "mark": mark,
                    "target": target, "size": size})
        self._store(pair, target, rest, out, release=False)  # the whole balance went with the part
        self._store(pair, liquidator, merged, out)
        if changed:
            out.append(self._sl_event(a))
        return out

    def sweep(self, expiry: int, operator: str, target: str, size: int, now: int, check: bool = True) -> list:
        """Force-close `size` (opposite to the target's position) against the AMM."""
        return self._guarded(expiry, self._sweep, expiry, operator, target, size, now, check)

    def _sweep(self, expiry, operator, target, size, now, check):
        """SDK applySweep: the part swept is split off pro rata (topped up to zero equity at mark if under
        water) and closed by a taker trade of `size` paying the fee; what the close leaves goes to the insurance
        fund (docs: leftover margin), a deficit to insurance then social loss.  The rest stays unrealised."""
        pair = self.pair(expiry)
        a = pair.amm
        out: list = []
        self._touch(pair, now, out)
        tpos = self._position(pair, target)
        if check and (tpos.size == 0 or size == 0 or (size > 0) == (tpos.size > 0) or abs(size) > abs(tpos.size)):
            raise Rejected("bad sweep")
        mark = self.mark(expiry)
        part, rest, _ = self._take_part(pair, target, -size, mark)
        fee_ratio = self.param.trading_fee_ratio
        res, fee = self._walk_and_fee(pair, size, fee_ratio)
        n = res.entry_notional
        idx = self._indices(a)
        closing = Position(-fee, size, n, idx.social_loss(size), idx.funding(size) if idx.perp else 0)
        left = self._merge(pair, target, part, closing, out).balance
        if left >= 0:
            a.insurance_fund += left
        else:
            self._cover_loss(pair, -left, tpos.size > 0)
        out.append({"event": "Sweep", "expiry": expiry, "trader": target, "size": size,
                    "taken_size": res.taken_size if size > 0 else -res.taken_size, "taken_value": res.taken_value,
                    "entry_notional": n, "fee_ratio": fee_ratio, "sqrt_px96": a.sqrt_px96, "mark": mark,
                    "operator": operator})
        out[-1]["_walk"] = res
        out.append(self._fee_event(a))
        self._store(pair, target, rest, out, release=False)
        out.append(self._sl_event(a))
        return out

    def settle(self, expiry: int, trader: str, operator: str, now: int) -> list:
        """After SETTLED: the trader's orders are filled or cancelled and its ranges removed (those events come
        first), then Settle closes the position at the settlement price and pays out its equity."""
        pair = self.pair(expiry)
        a = pair.amm
        if a.status != Status.SETTLED:
            raise Rejected("pair not settled")
        price = a.settlement_price
        out: list = []
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
        pos = self._position(pair, trader)
        realise(pos, self._indices(a))
        payout = max(equity(pos, price), 0)
        if pos.size < 0:  # SDK PairState.applySettle
            a.open_interests += pos.size
        out.append({"event": "Settle", "expiry": expiry, "trader": trader, "settlement": price, "balance": payout,
                    "operator": operator})
        self._store(pair, trader, Position(balance=payout), out)
        return out


def _pic(p: Position) -> dict:
    return {"pic_balance": p.balance, "pic_size": p.size, "pic_entry_notional": p.entry_notional,
            "pic_entry_social_loss_index": p.entry_social_loss_index, "pic_entry_funding_index": p.entry_funding_index}


def _range_fields(r: Range) -> dict:
    return {"range_liquidity": r.liquidity, "range_entry_fee_index": r.entry_fee_index, "range_balance": r.balance,
            "range_sqrt_entry_px96": r.sqrt_entry_px96}
