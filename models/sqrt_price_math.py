"""Sqrt-price math (docs/protocol-rules.md, "The walk"): Uniswap v3 SqrtPriceMath with base = token0 and quote = token1.

Amounts are WAD base (token0) and WAD quote (token1); L is WAD-scaled.  Rounding follows Uniswap: the amount a
trader must pay rounds up, the amount paid out rounds down, and a next price moves no further than the amount
allows.
"""
from .constants import Q96


def _div_round_up(a: int, b: int) -> int:
    return -((-a) // b)


def amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Base between two prices: L * 2^96 * (sb - sa) / sb / sa."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    num1 = liquidity << 96
    num2 = sqrt_b - sqrt_a
    if round_up:
        return _div_round_up(_div_round_up(num1 * num2, sqrt_b), sqrt_a)
    return num1 * num2 // sqrt_b // sqrt_a


def amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Quote between two prices: L * (sb - sa) / 2^96."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if round_up:
        return _div_round_up(liquidity * (sqrt_b - sqrt_a), Q96)
    return liquidity * (sqrt_b - sqrt_a) // Q96


def next_sqrt_from_amount0_rounding_up(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (price falls) or removing (price rises) `amount` of base; rounds up."""
    if amount == 0:
        return sqrt_p
    num1 = liquidity << 96
    if add:
        product = amount * sqrt_p
        denom = num1 + product
        return _div_round_up(num1 * sqrt_p, denom)
    product = amount * sqrt_p
    if num1 <= product:
        raise ValueError("not enough liquidity to remove that much base")
    return _div_round_up(num1 * sqrt_p, num1 - product)


def next_sqrt_from_amount1_rounding_down(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (price rises) or removing (price falls) `amount` of quote; rounds down."""
    if add:
        return sqrt_p + (amount << 96) // liquidity
    quotient = _div_round_up(amount << 96, liquidity)
    if sqrt_p <= quotient:
        raise ValueError("not enough liquidity to remove that much quote")
    return sqrt_p - quotient
