"""LP range math (docs/protocol-rules.md, "Ranges"): liquidity from margin, the range's inventory, and range -> position.

A range is a long Uniswap-v3 position in base/quote plus an offsetting short, so at entry its net position is 0
and it drifts with the price.  L is the largest liquidity whose margin covers IMR of the net position at both
boundaries:  num = M*sE/(sU - sE);  L_upper = num*2^96 / ((sU - sE) + roundUp(sU*r)), and the mirror for the
lower bound; L = min of the two.  Everything floors except roundUp(s*r): this reproduces the liquidity of four
real Base ranges and of a real launch receipt exactly (tests/fixtures), as SynFutures' SDK Range computes it.
"""
from dataclasses import dataclass

from .constants import Q96, RATIO_BASE
from .sqrt_price_math import amount0_delta, amount1_delta
from .wad import wmul


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def liquidity_upper_bound(margin: int, sqrt_entry: int, sqrt_upper: int, imr_bps: int) -> int:
    d = sqrt_upper - sqrt_entry
    num = margin * sqrt_entry // d
    return num * Q96 // (d + _ceil_div(sqrt_upper * imr_bps, RATIO_BASE))


def liquidity_lower_bound(margin: int, sqrt_entry: int, sqrt_lower: int, imr_bps: int) -> int:
    d = sqrt_entry - sqrt_lower
    num = margin * sqrt_entry // d
    return num * Q96 // (d + _ceil_div(sqrt_lower * imr_bps, RATIO_BASE))


def liquidity_from_margin(margin: int, sqrt_entry: int, sqrt_lower: int, sqrt_upper: int, imr_bps: int) -> int:
    if not sqrt_lower < sqrt_entry < sqrt_upper:
        raise ValueError("a range must contain the current price strictly inside it")
    return min(liquidity_upper_bound(margin, sqrt_entry, sqrt_upper, imr_bps),
               liquidity_lower_bound(margin, sqrt_entry, sqrt_lower, imr_bps))


def entry_base(liquidity: int, sqrt_entry: int, sqrt_upper: int) -> int:
    """Base the range holds at entry: L(1/sE - 1/sU), rounded up (charged to the LP)."""
    return amount0_delta(sqrt_entry, sqrt_upper, liquidity, True)


def entry_quote(liquidity: int, sqrt_entry: int, sqrt_lower: int) -> int:
    """Quote the range holds at entry: L(sE - sL), rounded up."""
    return amount1_delta(sqrt_lower, sqrt_entry, liquidity, True)


def holdings_at(liquidity: int, sqrt_p: int, sqrt_lower: int, sqrt_upper: int,
                round_up: bool = False) -> tuple[int, int]:
    """(base, quote) the range holds at price sqrt_p, rounded down, or up as range_to_position needs."""
    s = min(max(sqrt_p, sqrt_lower), sqrt_upper)
    base = amount0_delta(s, sqrt_upper, liquidity, round_up) if s < sqrt_upper else 0
    quote = amount1_delta(sqrt_lower, s, liquidity, round_up) if s > sqrt_lower else 0
    return base, quote


@dataclass(slots=True)
class RangeValue:
    size: int  # implied position, base WAD; + long (price fell), - short (price rose)
    pnl: int  # change in the holdings' value at the current price, quote WAD
    fee: int  # LP fee earned from the fee index, quote WAD


def range_to_position(liquidity: int, entry_fee_index: int, fee_index: int, sqrt_entry: int, sqrt_lower: int,
                      sqrt_upper: int, sqrt_p: int, price_wad: int) -> RangeValue:
    """Value a range at the current price (rangeToPosition).  Both the entry and the removal inventories round
    up, as both official SDKs compute them (oyster-sdk types/range.ts, perpv3-ts Range): a range removed at its
    entry price is exactly flat.  The fee floors (wmulDown)."""
    base_now, quote_now = holdings_at(liquidity, sqrt_p, sqrt_lower, sqrt_upper, True)
    base_entry = entry_base(liquidity, sqrt_entry, sqrt_upper)
    quote_entry = entry_quote(liquidity, sqrt_entry, sqrt_lower)
    size = base_now - base_entry
    # |size| x fair half up with the sign restored (Solidity's signed wmul rounds half away from zero); the SDKs'
    # wmul truncates a negative product (a listed deviation of tests/models/test_sdk_differential.py)
    value = wmul(abs(size), price_wad)
    pnl = (value if size >= 0 else -value) + (quote_now - quote_entry)
    fee = (fee_index - entry_fee_index) * liquidity // 10**18
    return RangeValue(size, pnl, fee)
