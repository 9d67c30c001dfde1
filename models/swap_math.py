"""The swap step (docs/protocol-rules.md, "The walk"): one move along the curve inside a range of constant liquidity.

A trade is sized in base.  A long taker receives base (exact output of token0, price rises); a short taker
gives base (exact input of token0, price falls).  There is no fee inside the step: SynFutures charges the fee on
the trade's whole notional afterwards (docs/protocol-rules.md, "Fees"), so the step is Uniswap's computeSwapStep with fee 0.
"""
from .sqrt_price_math import amount0_delta, amount1_delta, next_sqrt_from_amount0_rounding_up


def swap_step(sqrt_cur: int, sqrt_target: int, liquidity: int, base_remaining: int, long: bool):
    """Returns (sqrt_next, base_filled, quote_amount).

    base_remaining > 0.  For a long, quote_amount is what the taker pays (rounded up); for a short, what it
    receives (rounded down).
    """
    if long:
        # The base to reach the target rounds up for a long too (SynFutures' SwapMath.swapWithinRange uses
        # getDeltaBaseAutoRoundUp in both directions), so a long that reaches a tick pays the rounded-up base.
        base_to_target = amount0_delta(sqrt_cur, sqrt_target, liquidity, True)
        if base_remaining >= base_to_target:
            return sqrt_target, base_to_target, amount1_delta(sqrt_cur, sqrt_target, liquidity, True)
        sqrt_next = next_sqrt_from_amount0_rounding_up(sqrt_cur, liquidity, base_remaining, False)
        return sqrt_next, base_remaining, amount1_delta(sqrt_cur, sqrt_next, liquidity, True)
    base_to_target = amount0_delta(sqrt_target, sqrt_cur, liquidity, True)
    if base_remaining >= base_to_target:
        sqrt_next = sqrt_target
    else:
        sqrt_next = next_sqrt_from_amount0_rounding_up(sqrt_cur, liquidity, base_remaining, True)
    reached = sqrt_next == sqrt_target
    base = base_to_target if reached else base_remaining
    quote = amount1_delta(sqrt_next, sqrt_cur, liquidity, False)
    return sqrt_next, base, quote
