"""Tick math, sqrt-price math, WAD helpers and the swap step against independent high-precision values."""
from decimal import Decimal, getcontext, ROUND_CEILING, ROUND_FLOOR

import pytest
from hypothesis import given, settings, strategies as st

from models import tick_math as tm
from models.constants import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, Q96, WAD
from models.sqrt_price_math import (amount0_delta, amount1_delta, next_sqrt_from_amount0_rounding_up,
                                    next_sqrt_from_amount1_rounding_down)
from models.swap_math import swap_step
from models.wad import wdiv, wdiv_down, wdiv_up, wmul, wmul_down, wmul_up

getcontext().prec = 120


def exact_sqrt_ratio(tick: int) -> Decimal:
    return (Decimal("1.0001") ** tick).sqrt() * Decimal(2) ** 96


def test_bounds_are_the_spec_constants():
    assert tm.sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO == 7867958450021363558555
    assert tm.sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO == 340275971719517849884101479065584693834


def test_uniswap_algorithm_reproduces_uniswap_known_extremes():
    # Uniswap v3's published MIN/MAX_SQRT_RATIO for ticks -887272 / 887272: same algorithm, wider bounds.
    assert tm._sqrt_ratio_unchecked(-887272) == 4295128739
    assert tm._sqrt_ratio_unchecked(887272) == 1461446703485210103287273052203988822378723970342


def test_out_of_bounds_ticks_are_refused():
    with pytest.raises(tm.TickMathError):
        tm.sqrt_ratio_at_tick(MAX_TICK + 1)
    with pytest.raises(tm.TickMathError):
        tm.tick_at_sqrt_ratio(MIN_SQRT_RATIO - 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(MIN_TICK, MAX_TICK))
def test_sqrt_ratio_matches_high_precision(tick):
    exact = exact_sqrt_ratio(tick)
    got = tm.sqrt_ratio_at_tick(tick)
    # Uniswap's chain of Q128 products truncates; only the last Q128 -> Q96 step rounds up.
    assert abs(Decimal(got) - exact) / exact < Decimal("1e-15")


@settings(max_examples=300, deadline=None)
@given(st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1))
def test_tick_at_sqrt_ratio_is_the_largest_tick_below(s):
    t = tm.tick_at_sqrt_ratio(s)
    assert tm.sqrt_ratio_at_tick(t) <= s
    assert t == MAX_TICK or tm.sqrt_ratio_at_tick(t + 1) > s


def test_wad_price_conversions_by_hand():
    # sqrt = 2^96 is price 1: WAD 1e18, tick 0
    assert tm.sqrt_to_wad(Q96) == WAD
    assert tm.wad_to_tick(WAD) == 0
    # price 2000: floor(floor(s^2/2^96)*1e18/2^96) within a wei of 2000e18 after the isqrt round trip
    s = tm.wad_to_sqrt(2000 * WAD)
    assert s == int((Decimal(2000) * Decimal(2) ** 192).sqrt().to_integral_value(ROUND_FLOOR)) or \
        abs(s - int((Decimal(2000) * Decimal(2) ** 192).sqrt())) <= 1
    assert abs(tm.sqrt_to_wad(s) - 2000 * WAD) <= 2
    assert tm.wad_to_tick(2000 * WAD) == 76012  # log(2000)/log(1.0001) = 76012.1...


def test_alignment():
    assert tm.align_down(-7, 5) == -10 and tm.align_up(-7, 5) == -5
    assert tm.align_down(76012, 50) == 76000 and tm.align_up(76012, 50) == 76050
    assert tm.align_up(100, 50) == 100 and tm.is_aligned(-150, 50)


def test_wad_rounding_by_hand():
    assert wmul_down(3, WAD // 2) == 1 and wmul_up(3, WAD // 2) == 2 and wmul(3, WAD // 2) == 2
    assert wmul(1, WAD // 2) == 1 and wmul_down(1, WAD // 2) == 0  # 0.5 rounds half up
    assert wdiv_down(1, 3) == 333333333333333333 and wdiv_up(1, 3) == 333333333333333334
    assert wdiv(2, 3) == 666666666666666667


def _exact_amount0(sa, sb, liq) -> Decimal:
    lo, hi = min(sa, sb), max(sa, sb)
    return Decimal(liq) * Decimal(2) ** 96 * (hi - lo) / (Decimal(hi) * lo)


@settings(max_examples=200, deadline=None)
@given(st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1), st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1),
       st.integers(1, 2**120))
def test_amount_deltas_round_as_uniswap(sa, sb, liq):
    e0 = _exact_amount0(sa, sb, liq)
    assert amount0_delta(sa, sb, liq, False) == int(e0.to_integral_value(ROUND_FLOOR))
    assert amount0_delta(sa, sb, liq, True) == int(e0.to_integral_value(ROUND_CEILING))
    e1 = Decimal(liq) * abs(sb - sa) / Decimal(2) ** 96
    assert amount1_delta(sa, sb, liq, False) == int(e1.to_integral_value(ROUND_FLOOR))
    assert amount1_delta(sa, sb, liq, True) == int(e1.to_integral_value(ROUND_CEILING))


@settings(max_examples=200, deadline=None)
@given(st.integers(2**90, 2**110), st.integers(10**20, 10**30), st.integers(1, 10**22))
def test_next_price_from_base_moves_no_further_than_the_amount(s, liq, amount):
    down = next_sqrt_from_amount0_rounding_up(s, liq, amount, True)  # base in: price falls
    assert down <= s
    # the base needed for the move (rounded up) never exceeds what came in; a dust input may not move it
    assert amount0_delta(down, s, liq, True) <= amount
    up = next_sqrt_from_amount1_rounding_down(s, liq, amount, True)
    assert up >= s and amount1_delta(s, up, liq, False) <= amount


@settings(max_examples=200, deadline=None)
@given(st.integers(70000, 80000), st.integers(1, 2000), st.integers(10**21, 10**26), st.integers(1, 10**21),
       st.booleans())
def test_swap_step_never_overfills(tick, width, liq, base, long):
    s = tm.sqrt_ratio_at_tick(tick)
    target = tm.sqrt_ratio_at_tick(tick + width if long else tick - width)
    nxt, filled, quote = swap_step(s, target, liq, base, long)
    assert filled <= base and quote >= 0
    assert (s <= nxt <= target) if long else (target <= nxt <= s)
    if nxt != target:
        assert filled == base
