"""WAD (1e18) fixed-point helpers with explicit rounding (docs/protocol-rules.md, "Units").

Every function names its rounding: ``_down`` floors, ``_up`` ceils, the plain name rounds half up as the
contract's ``wmul``/``wdiv`` do.  Inputs are non-negative unless the name says ``signed``.
"""
from .constants import RATIO_BASE, WAD


def mul_div_down(a: int, b: int, d: int) -> int:
    return a * b // d


def mul_div_up(a: int, b: int, d: int) -> int:
    return -((-a * b) // d)


def mul_div_half_up(a: int, b: int, d: int) -> int:
    """(a*b + d/2) / d for non-negative a, b: the SDK's ``frac`` (its wmul/wdiv are this with WAD)."""
    return (a * b + d // 2) // d


def div_trunc(a: int, b: int) -> int:
    """Solidity's signed ``/``: the quotient truncated toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def wmul_down(a: int, b: int) -> int:
    return a * b // WAD


def wmul_up(a: int, b: int) -> int:
    return -((-a * b) // WAD)


def wmul(a: int, b: int) -> int:
    """Half-up: (a*b + WAD/2) / WAD."""
    return (a * b + WAD // 2) // WAD


def wdiv_down(a: int, b: int) -> int:
    return a * WAD // b


def wdiv_up(a: int, b: int) -> int:
    return -((-a * WAD) // b)


def wdiv(a: int, b: int) -> int:
    """Half-up: (a*WAD + b/2) / b."""
    return (a * WAD + b // 2) // b


def signed_wmul(a: int, b: int) -> int:
    """Half-up on the magnitude, sign restored (Solidity's signed wmul rounds the magnitude)."""
    neg = (a < 0) != (b < 0)
    r = wmul(abs(a), abs(b))
    return -r if neg else r


def signed_wmul_down(a: int, b: int) -> int:
    """Magnitude rounded down, sign restored (toward zero)."""
    neg = (a < 0) != (b < 0)
    r = abs(a) * abs(b) // WAD
    return -r if neg else r


def signed_wmul_up(a: int, b: int) -> int:
    """Magnitude rounded up, sign restored (away from zero)."""
    neg = (a < 0) != (b < 0)
    r = wmul_up(abs(a), abs(b))
    return -r if neg else r


def r2w(ratio_bps: int) -> int:
    """A basis-point ratio as a WAD fraction (1e4 -> 1e18)."""
    return ratio_bps * 10**14


def bps_of_down(amount: int, ratio_bps: int) -> int:
    """amount * ratio / 1e4, rounded down."""
    return amount * ratio_bps // RATIO_BASE


def bps_of_up(amount: int, ratio_bps: int) -> int:
    return -((-amount * ratio_bps) // RATIO_BASE)
