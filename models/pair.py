"""One pair's state (docs/protocol-rules.md, "State" and "The walk"): the Amm record, pearls, records, the tick
bitmap and the trade walk.

The walk, as SynFutures' replay runs it (oyster-sdk SwapMath.swapCrossRange): only a long first takes the asks
resting at the current tick; then the taker moves along the curve to the next initialised tick in its
direction (found across bitmap words in one step; going down the current tick itself counts, so a short walks
down to the current tick's price before it takes the bids resting there), takes the opposite orders at a tick
it reaches, then crosses the tick's liquidity.  Going down, a walk that ends exactly on a tick does not cross
it (the tick stays active, as in Uniswap).  The tick is kept as state, Uniswap-style, so a price that rounds
back onto a crossed tick keeps tick = T - 1.
"""
from dataclasses import dataclass, field, fields, replace

from .bitmap import TickBitmap
from .constants import MAX_TICK, MIN_TICK, PEARL_SPACING, Status
from .pearl import Pearl, Record, weighted_index
from .swap_math import swap_step
from .tick_math import sqrt_ratio_at_tick, tick_at_sqrt_ratio, tick_to_wad
from .fees import maker_rebate
from .wad import wmul


class InsufficientLiquidity(ValueError):
    pass


@dataclass(slots=True)
class Amm:
    expiry: int
    timestamp: int = 0
    status: int = Status.DORMANT
    tick: int = 0
    sqrt_px96: int = 0
    liquidity: int = 0
    total_liquidity: int = 0
    total_short: int = 0
    total_long: int = 0
    open_interests: int = 0
    involved_fund: int = 0
    fee_index: int = 0
    protocol_fee: int = 0
    long_social_loss_index: int = 0
    short_social_loss_index: int = 0
    long_funding_index: int = 0
    short_funding_index: int = 0
    insurance_fund: int = 0
    settlement_price: int = 0

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class MakerTake:
    tick: int
    nonce: int
    size: int  # makers' sign
    value: int
    fee: int


@dataclass(slots=True)
class WalkResult:
    taken_size: int = 0  # magnitude taken from orders
    taken_value: int = 0
    curve_size: int = 0
    curve_value: int = 0
    maker_fee: int = 0
    crossings: int = 0
    takes: list = field(default_factory=list)

    @property
    def entry_notional(self) -> int:
        return self.taken_value + self.curve_value


class Pair:
    __slots__ = ("amm", "pearls", "records", "bitmap", "live", "_journal")

    def __init__(self, expiry: int, spacing: int = PEARL_SPACING):
        self.amm = Amm(expiry)
        self.pearls: dict[int, Pearl] = {}
        self.records: dict[tuple[int, int], Record] = {}
        self.bitmap = TickBitmap(spacing)
        self.live: dict[tuple[int, int], int] = {}  # (tick, nonce) -> orders of that epoch not yet settled
        self._journal = None

    # --- undo journal: an action the contract would revert leaves the pair exactly as it was ---------------
    def begin(self) -> None:
        self._journal = (replace(self.amm), {}, set(), dict(self.bitmap.words))

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        amm, pearls, records, words = self._journal
        self.amm = amm
        for tick, saved in pearls.items():
            if saved is None:
                self.pearls.pop(tick, None)
            else:
                self.pearls[tick] = Pearl(*saved)
        for key in records:
            self.records.pop(key, None)
        self.bitmap.words = words
        self._journal = None

    def _save(self, tick: int) -> None:
        saved = self._journal[1]
        if tick not in saved:
            p = self.pearls.get(tick)
            saved[tick] = p.as_tuple() if p is not None else None

    def __getstate__(self):
        # Checkpoints: a pearl that only remembers its nonce (every tick an order ever rested on keeps one, so
        # these pile up with history) is stored as that int; the others as tuples (cheaper than slotted objects).
        pearls = {t: (p.nonce if not (p.liquidity_gross or p.liquidity_net or p.left or p.taken or p.fee
                                      or p.entry_social_loss_index or p.entry_funding_index) else p.as_tuple())
                  for t, p in self.pearls.items()}
        return (self.amm, pearls, self.records, self.bitmap, self.live)

    def __setstate__(self, state):
        self.amm, pearls, self.records, self.bitmap, self.live = state
        self.pearls = {t: Pearl(nonce=v) if isinstance(v, int) else v if isinstance(v, Pearl) else Pearl(*v)
                       for t, v in pearls.items()}  # (Pearl objects: checkpoints written before this format)
        self._journal = None

    def order_opened(self, tick: int, nonce: int) -> None:
        self.live[(tick, nonce)] = self.live.get((tick, nonce), 0) + 1

    def order_closed(self, tick: int, nonce: int) -> None:
        """An order of epoch (tick, nonce) was cancelled or filled.  When the last order of an archived epoch is
        filled its Record is no longer needed by anyone: it is dropped, so the state does not grow with history.
        (An epoch whose orders predate the replayed history never counts down to 0 and is kept.)"""
        key = (tick, nonce)
        n = self.live.get(key)
        if n is None:
            return
        if n > 1:
            self.live[key] = n - 1
            return
        del self.live[key]
        self.records.pop(key, None)

    # --- pearls -------------------------------------------------------------------------------------------
    def pearl(self, tick: int) -> Pearl:
        if self._journal is not None:
            self._save(tick)
        p = self.pearls.get(tick)
        if p is None:
            p = self.pearls[tick] = Pearl()
        return p

    def _sync_bitmap(self, tick: int, was_initialised: bool) -> None:
        now = self.pearls[tick].initialised
        if now != was_initialised:
            self.bitmap.flip(tick)

    def update_liquidity(self, tick: int, delta: int, upper: bool) -> None:
        p = self.pearl(tick)
        was = p.initialised
        p.liquidity_gross += delta
        p.liquidity_net += -delta if upper else delta
        if p.liquidity_gross < 0:
            raise ValueError(f"liquidityGross below zero at tick {tick}")
        self._sync_bitmap(tick, was)

    def add_liquidity(self, tick_lower: int, tick_upper: int, liquidity: int) -> None:
        self.update_liquidity(tick_lower, liquidity, False)
        self.update_liquidity(tick_upper, liquidity, True)
        a = self.amm
        if tick_lower <= a.tick < tick_upper:
            a.liquidity += liquidity
        a.total_liquidity += liquidity

    def remove_liquidity(self, tick_lower: int, tick_upper: int, liquidity: int) -> None:
        self.update_liquidity(tick_lower, -liquidity, False)
        self.update_liquidity(tick_upper, -liquidity, True)
        a = self.amm
        if tick_lower <= a.tick < tick_upper:
            a.liquidity -= liquidity
        a.total_liquidity -= liquidity

    def place(self, tick: int, size: int) -> int:
        """Rest `size` (+ bid, - ask) at tick; returns the epoch (nonce) the order belongs to."""
        p = self.pearl(tick)
        was = p.initialised
        p.left += size
        self._sync_bitmap(tick, was)
        return p.nonce

    def unplace(self, tick: int, size: int) -> None:
        p = self.pearl(tick)
        was = p.initialised
        p.left -= size
        self._archive_if_empty(tick, p)
        self._sync_bitmap(tick, was)

    def _archive_if_empty(self, tick: int, p: Pearl) -> None:
        if p.left == 0 and p.taken != 0:
            if self._journal is not None:
                self._journal[2].add((tick, p.nonce))
            self.records[(tick, p.nonce)] = Record(p.taken, p.fee, p.entry_social_loss_index,
                                                   p.entry_funding_index)
            p.nonce += 1
            p.taken = p.fee = p.entry_social_loss_index = p.entry_funding_index = 0

    # --- the walk -----------------------------------------------------------------------------------------
    def _take(self, tick: int, long: bool, remaining: int, fee_ratio: int, res: WalkResult) -> int:
        p = self.pearls.get(tick)
        if p is None or (p.left >= 0 if long else p.left <= 0):
            return 0
        if self._journal is not None:
            self._save(tick)
        q = min(remaining, abs(p.left))
        maker = -q if long else q
        value = wmul(tick_to_wad(tick), q)
        fee = maker_rebate(value, fee_ratio)
        a = self.amm
        sl, fi = ((a.short_social_loss_index, a.short_funding_index) if long
                  else (a.long_social_loss_index, a.long_funding_index))
        old = abs(p.taken)
        p.entry_social_loss_index = weighted_index(p.entry_social_loss_index, old, sl, q)
        p.entry_funding_index = weighted_index(p.entry_funding_index, old, fi, q)
        was = p.initialised
        nonce = p.nonce
        p.taken += maker
        p.left -= maker
        p.fee += fee
        self._archive_if_empty(tick, p)
        self._sync_bitmap(tick, was)
        # Makers' exposure counts in OI from the moment it is taken (settled into positions later).
        if maker > 0:
            a.total_long += q
        else:
            a.total_short += q
        res.taken_size += q
        res.taken_value += value
        res.maker_fee += fee
        res.takes.append(MakerTake(tick, nonce, maker, value, fee))
        return q

    def walk(self, size: int, fee_ratio: int) -> WalkResult:
        """Fill a taker of signed base `size` (+ long) against orders and the curve; mutates the pair."""
        if size == 0:
            return WalkResult()
        a = self.amm
        long = size > 0
        rem = abs(size)
        res = WalkResult()
        s, t, liq = a.sqrt_px96, a.tick, a.liquidity
        if long:
            rem -= self._take(t, long, rem, fee_ratio, res)
        bitmap = self.bitmap
        bound = MAX_TICK if long else MIN_TICK
        while rem > 0:
            nxt, init = bitmap.next_initialised(t, not long, bound)
            target = sqrt_ratio_at_tick(nxt)
            start = s
            if liq > 0 and s != target:
                s, base, quote = swap_step(s, target, liq, rem, long)
                rem -= base
                res.curve_size += base
                res.curve_value += quote
            elif s != target:
                s = target  # no liquidity here: the price moves freely to the next initialised tick
            if s == target:
                if init and rem > 0:
                    rem -= self._take(nxt, long, rem, fee_ratio, res)
                if long:
                    if init:
                        liq += self.pearls[nxt].liquidity_net
                        res.crossings += 1
                    t = nxt
                elif rem > 0:
                    if init:
                        liq -= self.pearls[nxt].liquidity_net
                        res.crossings += 1
                    t = nxt - 1
                else:
                    t = nxt
                if rem > 0 and (nxt >= MAX_TICK or nxt <= MIN_TICK):
                    raise InsufficientLiquidity("the trade walks past the last tick")
            elif s != start:
                t = tick_at_sqrt_ratio(s)
        if liq < 0:
            raise ValueError("active liquidity below zero")
        a.sqrt_px96, a.tick, a.liquidity = s, t, liq
        return res

    def active_liquidity_from_ticks(self) -> int:
        """Sum of liquidityNet of the initialised ticks at or below the current tick (an invariant check)."""
        return sum(self.pearls[t].liquidity_net for t in self.bitmap.initialised_ticks() if t <= self.amm.tick)

    def order_book(self) -> dict[int, int]:
        """{tick: signed resting size}: the on-chain order book (docs/protocol-rules.md, "Orders")."""
        return {t: p.left for t, p in self.pearls.items() if p.left}
