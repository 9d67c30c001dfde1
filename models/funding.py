"""Funding (docs/protocol-rules.md, "Funding"): lazy index updates for perpetuals.

As SynFutures' replay computes it (oyster-sdk math/funding.ts updateFundingIndex):
- the payer side's index falls by d = |fair - mark| x dt / T, rounded to nearest (``frac``); longs pay when
  fair > mark; T = fundingHour x 3600, or 86,400 s;
- the payment is wmul(d, payerOI) (half up) and the receiver's index rises by wdiv(payment, receiverOI)
  (half up);
- with no receiver the payment goes to the insurance fund (the payer's index still falls).
Packing of the event word is (short << 128) | long as two's-complement int128 halves.
"""
from .constants import FUNDING_PERIOD
from .wad import mul_div_half_up, wdiv, wmul


def funding_step(fair: int, mark: int, dt: int, period: int, total_long: int, total_short: int):
    """Returns (delta_long_index, delta_short_index, to_insurance_fund) for one lazy update."""
    if dt <= 0 or fair == mark:
        return 0, 0, 0
    d = mul_div_half_up(abs(fair - mark), dt, period or FUNDING_PERIOD)
    if fair > mark:  # longs pay
        payer_oi, receiver_oi = total_long, total_short
    else:
        payer_oi, receiver_oi = total_short, total_long
    if payer_oi == 0 or d == 0:
        return 0, 0, 0
    paid = wmul(d, payer_oi)
    if receiver_oi == 0:
        recv, to_fund = 0, paid
    else:
        recv, to_fund = wdiv(paid, receiver_oi), 0
    if fair > mark:
        return -d, recv, to_fund
    return recv, -d, to_fund


def pack_funding_index(long_index: int, short_index: int) -> int:
    return ((short_index & (2**128 - 1)) << 128) | (long_index & (2**128 - 1))


def _int128(v: int) -> int:
    return v - (1 << 128) if v >> 127 else v


def unpack_funding_index(packed: int) -> tuple[int, int]:
    """(long, short) from the packed uint256 of UpdateFundingIndex."""
    return _int128(packed & (2**128 - 1)), _int128(packed >> 128)
