"""Divergence policy: how big a difference between the replay and the chain is, and what kind it is.

Pure functions, no I/O.  The replay (models.replay) compares every field the engine expected with the field the
chain reported; each difference is classified here as

* ``rounding``   -- a numeric amount, index or price that differs by at most ``ROUNDING_WEI`` wei: a rounding
                    rule of the model that is not yet the contract's.  Counted and trended (mart
                    mart_replay_drift_daily, dashboard panel 12), never blocking.
* ``structural`` -- anything else: an event, order, range or position missing or unexpected (the replay's
                    ``*`` rows: "not emitted", "no such event expected", "engine refused"), a discrete field that
                    differs at all (a tick, nonce, expiry, status, fee ratio, address, ...), a value that is
                    not a decimal integer on both sides, or a numeric difference beyond the tolerance.  Blocks
                    the pipeline (asset check replay_has_no_divergences).

The tolerance, ROUNDING_WEI = 4 wei per field per event, and why:
  every on-chain mulDiv / division rounds by less than 1 wei, and each reported value comes out of a short chain
  of such steps (fee = notional x ratio / 1e4 then split maker / LP / protocol; mark and fair price from the
  squared Q64.96 sqrt price; fee, funding and social-loss indices advanced by amount x 1e18 / liquidity or / OI;
  the swap's sqrt price rounded up or down at the step's end).  A model that rounds the other way at one step is
  1 wei off, at a few steps a few wei.  Four wei covers up to four disagreeing steps in one event, which is what
  a rounding rule looks like; anything a wrong formula, a wrong fee ratio, a wrong tick or a missed fill
  produces on a real amount is many orders of magnitude larger (1 wei of a WAD quantity is 1e-18 of a unit;
  a one-tick price error is 1e-4 relative, ~1e14 wei on a WAD price).  Indices and prices (fee_index,
  funding indices, mark, sqrt_px96) get the same tolerance: their rounding is one step per event too.
  The tolerance is absolute, not relative: a relative rule would call a 100% error on a dust amount rounding,
  and 4 wei of a large amount is still 4 wei.  The drift never hides: every rounding row is kept with its size.

Packed fields (UpdateFundingIndex.funding_index: two int128 halves in one uint256) are compared half by half:
1 wei in the high half is 2**128 on the packed word, and still a rounding difference of that half's index.
"""
import re
from dataclasses import dataclass

ROUNDING_WEI = 4
ROUNDING, STRUCTURAL = "rounding", "structural"

# Fields that name or locate something, or are configuration copied from an input: any difference is structural.
DISCRETE_FIELDS = frozenset({
    "expiry", "tick", "tick_lower", "tick_upper", "nonce", "rid", "status", "condition", "funding_hour",
    "fee_ratio", "initial_margin_ratio", "maintenance_margin_ratio", "param_qtype", "param_trading_fee_ratio",
    "param_protocol_fee_ratio", "param_stability_fee_ratio_param", "param_min_margin_amount", "param_tip",
    "timestamp", "state_time", "index", "symbol", "total",
    # addresses (a non-numeric mismatch is structural anyway; listed so a numeric-looking one is too)
    "trader", "operator", "target", "donator", "instrument", "quote", "base", "address", "counterparty",
})
# Fields that pack several exact integers into one word: field -> function returning the parts.
_MASK128 = 2**128 - 1


def _int128(x: int) -> int:
    return x - 2**128 if x >= 2**127 else x


def _funding_halves(packed: int) -> tuple[int, int]:
    # the same layout as models.funding.unpack_funding_index: (long = low 128 bits, short = high 128 bits)
    return _int128(packed & _MASK128), _int128(packed >> 128)


PACKED_FIELDS = {"funding_index": _funding_halves}
STAR = "*"  # the replay's field for a whole missing / unexpected / refused event
_DECIMAL = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class Drift:
    """The size and class of one divergence.  diff = actual - expected (exact; None when not numeric)."""
    cls: str  # ROUNDING | STRUCTURAL
    reason: str
    diff: int | None = None
    rel: float | None = None  # |diff| / max(|expected|, |actual|, 1)

    @property
    def abs_diff(self) -> int | None:
        return None if self.diff is None else abs(self.diff)


def as_int(v) -> int | None:
    """An exact integer from an int or a decimal string ("-12", "+3", " 7 "); None for anything else
    (bools, floats, hex, addresses, "not emitted", None)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        if _DECIMAL.fullmatch(s):
            return int(s)
    return None


def size(expected: int, actual: int) -> tuple[int, float]:
    """(actual - expected, |diff| / max(|expected|, |actual|, 1)): exact diff, relative as a float.
    Python's int / int is correctly rounded for any size, so uint256 values are fine."""
    d = actual - expected
    return d, abs(d) / max(abs(expected), abs(actual), 1)


def classify(fld: str, expected, actual, tolerance: int = ROUNDING_WEI) -> Drift:
    """Classify one difference the replay found in field `fld` (the replay's '*' for a whole event)."""
    if fld == STAR:
        return Drift(STRUCTURAL, "event missing, unexpected or refused")
    e, a = as_int(expected), as_int(actual)
    if e is None or a is None:
        return Drift(STRUCTURAL, "not numeric")
    unpack = PACKED_FIELDS.get(fld)
    if unpack is not None and e >= 0 and a >= 0:
        parts = [size(pe, pa) for pe, pa in zip(unpack(e), unpack(a))]
        d, rel = max(parts, key=lambda p: (abs(p[0]), p[1]))
    else:
        d, rel = size(e, a)
    if fld in DISCRETE_FIELDS:
        return Drift(STRUCTURAL, "discrete field differs", d, rel)
    if d == 0:  # the replay compared more than the integer (e.g. "007" vs "7"): not a size difference
        return Drift(STRUCTURAL, "same number, different text", 0, 0.0)
    if abs(d) <= tolerance:
        return Drift(ROUNDING, f"within {tolerance} wei", d, rel)
    return Drift(STRUCTURAL, f"beyond {tolerance} wei", d, rel)
