"""Tick math (docs/protocol-rules.md, "Units"): Uniswap v3 TickMath with SynFutures' bounds, tick <-> WAD price, tick alignment.

``sqrt_ratio_at_tick`` is Uniswap's algorithm bit for bit (Q128 magic constants, ratio rounded up from Q128 to
Q96).  ``tick_at_sqrt_ratio`` returns the largest tick whose sqrt ratio is <= the input, which is exactly what
Uniswap's log2 routine guarantees; it is found from a float estimate corrected with exact comparisons.
"""
import math
from functools import lru_cache

from .constants import MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, Q96, WAD

_U256_MAX = (1 << 256) - 1
_MAGIC = (
    (0x2, 0xFFF97272373D413259A46990580E213A),
    (0x4, 0xFFF2E50F5F656932EF12357CF3C7FDCC),
    (0x8, 0xFFE5CACA7E10E4E61C3624EAA0941CD0),
    (0x10, 0xFFCB9843D60F6159C9DB58835C926644),
    (0x20, 0xFF973B41FA98C081472E6896DFB254C0),
    (0x40, 0xFF2EA16466C96A3843EC78B326B52861),
    (0x80, 0xFE5DEE046A99A2A811C461F1969C3053),
    (0x100, 0xFCBE86C7900A88AEDCFFC83B479AA3A4),
    (0x200, 0xF987A7253AC413176F2B074CF7815E54),
    (0x400, 0xF3392B0822B70005940C7A398E4B70F3),
    (0x800, 0xE7159475A2C29B7443B29C7FA6E889D9),
    (0x1000, 0xD097F3BDFD2022B8845AD8F792AA5825),
    (0x2000, 0xA9F746462D870FDF8A65DC1F90E061E5),
    (0x4000, 0x70D869A156D2A1B890BB3DF62BAF32F7),
    (0x8000, 0x31BE135F97D08FD981231505542FCFA6),
    (0x10000, 0x9AA508B5B7A84E1C677DE54F3E99BC9),
    (0x20000, 0x5D6AF8DEDB81196699C329225EE604),
    (0x40000, 0x2216E584F5FA1EA926041BEDFE98),
    (0x80000, 0x48A170391F7DC42444E8FA2),
)


class TickMathError(ValueError):
    pass


def _sqrt_ratio_unchecked(tick: int) -> int:
    abs_tick = -tick if tick < 0 else tick
    ratio = 0xFFFCB933BD6FAD37AA2D162D1A594001 if abs_tick & 0x1 else 1 << 128
    for bit, magic in _MAGIC:
        if abs_tick & bit:
            ratio = (ratio * magic) >> 128
    if tick > 0:
        ratio = _U256_MAX // ratio
    return (ratio >> 32) + (0 if ratio & 0xFFFFFFFF == 0 else 1)


@lru_cache(maxsize=65536)
def sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) * 2^96, rounded up (Uniswap v3 getSqrtRatioAtTick)."""
    if tick < MIN_TICK or tick > MAX_TICK:
        raise TickMathError(f"tick {tick} outside [{MIN_TICK}, {MAX_TICK}]")
    return _sqrt_ratio_unchecked(tick)


def tick_at_sqrt_ratio(sqrt_px96: int) -> int:
    """Largest tick t with sqrt_ratio_at_tick(t) <= sqrt_px96 (Uniswap v3 getTickAtSqrtRatio)."""
    if sqrt_px96 < MIN_SQRT_RATIO or sqrt_px96 >= MAX_SQRT_RATIO:
        raise TickMathError(f"sqrtPX96 {sqrt_px96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
    # log_1.0001(P) = 2*log(s/2^96)/log(1.0001); the float is within a tick, fixed by exact comparison.
    est = math.floor(2.0 * (math.log2(sqrt_px96) - 96.0) / math.log2(1.0001))
    t = max(MIN_TICK, min(MAX_TICK, est))
    while t > MIN_TICK and sqrt_ratio_at_tick(t) > sqrt_px96:
        t -= 1
    while t < MAX_TICK and sqrt_ratio_at_tick(t + 1) <= sqrt_px96:
        t += 1
    return t


def sqrt_to_wad(sqrt_px96: int) -> int:
    """WAD price = floor(floor(s^2 / 2^96) * 1e18 / 2^96) (docs/protocol-rules.md, "Units")."""
    return (sqrt_px96 * sqrt_px96 // Q96) * WAD // Q96


def wad_to_sqrt(price_wad: int) -> int:
    """sqrt = isqrt(floor(P * 2^96 / 1e18) * 2^96) (docs/protocol-rules.md, "Units")."""
    return math.isqrt((price_wad * Q96 // WAD) * Q96)


def tick_to_wad(tick: int) -> int:
    return sqrt_to_wad(sqrt_ratio_at_tick(tick))


def wad_to_tick(price_wad: int) -> int:
    return tick_at_sqrt_ratio(wad_to_sqrt(price_wad))


def align_down(tick: int, spacing: int) -> int:
    """Largest multiple of spacing <= tick (floor)."""
    return (tick // spacing) * spacing


def align_up(tick: int, spacing: int) -> int:
    """Smallest multiple of spacing >= tick (ceil)."""
    return -((-tick) // spacing) * spacing


def is_aligned(tick: int, spacing: int) -> bool:
    return tick % spacing == 0
