"""Depth (the README's depth metric): base and quote a taker needs to move a pair's price to a target, from the curve and the
resting orders in the way, without changing the pair.

It follows the trade walk's order (going up, the asks at the current tick; then the curve to the next
initialised tick, the orders there, the crossing), stopping at the target price.  Rounding as the walk: the
base to reach a tick rounds up both ways, the quote the taker pays rounds up and what it receives rounds down.
"""
from .constants import MAX_TICK, MIN_TICK
from .pair import Pair
from .sqrt_price_math import amount0_delta, amount1_delta
from .tick_math import sqrt_ratio_at_tick, tick_to_wad
from .wad import wmul


def _orders(pair: Pair, tick: int, up: bool) -> int:
    p = pair.pearls.get(tick)
    if p is None or (p.left >= 0 if up else p.left <= 0):
        return 0
    return abs(p.left)


def depth_to(pair: Pair, target_sqrt: int) -> tuple[int, int]:
    """(base, quote) traded to move the price from where it is to target_sqrt (either direction)."""
    a = pair.amm
    s, t, liq = a.sqrt_px96, a.tick, a.liquidity
    up = target_sqrt > s
    base = quote = 0
    q = _orders(pair, t, up) if up else 0  # only a long takes the current tick's orders before moving
    if q and sqrt_ratio_at_tick(t) <= target_sqrt:
        base += q
        quote += wmul(tick_to_wad(t), q)
    while s != target_sqrt:
        nxt, init = pair.bitmap.next_initialised(t, not up, MAX_TICK if up else MIN_TICK)
        edge = sqrt_ratio_at_tick(nxt)
        stop = min(edge, target_sqrt) if up else max(edge, target_sqrt)
        if liq > 0 and stop != s:
            base += amount0_delta(s, stop, liq, True)
            quote += amount1_delta(s, stop, liq, up)
        s = stop
        if s != edge:
            break
        if init:
            q = _orders(pair, nxt, up)
            base += q
            quote += wmul(tick_to_wad(nxt), q)
            liq += pair.pearls[nxt].liquidity_net if up else -pair.pearls[nxt].liquidity_net
        if nxt in (MAX_TICK, MIN_TICK):
            break
        t = nxt if up else nxt - 1
    return base, quote


def best_bid_ask(pair: Pair) -> tuple[int | None, int | None]:
    """Ticks of the highest resting bid and the lowest resting ask (None when a side is empty)."""
    bids = [t for t, p in pair.pearls.items() if p.left > 0]
    asks = [t for t, p in pair.pearls.items() if p.left < 0]
    return (max(bids) if bids else None), (min(asks) if asks else None)
