"""Protocol constants and enums (docs/protocol-rules.md)."""
from enum import IntEnum

WAD = 10**18
Q96 = 1 << 96
Q128 = 1 << 128
RATIO_BASE = 10_000  # ratios are in basis points

MIN_TICK = -322517
MAX_TICK = 443636
MIN_SQRT_RATIO = 7867958450021363558555
MAX_SQRT_RATIO = 340275971719517849884101479065584693834

# Tick spacing on Base and Blast (docs/protocol-rules.md, "State"): orders on multiples of 5, ranges on multiples of 50.  Other chains use
# 1/50 (sdks configureSpacing); the engine is set up for Base and Blast.
PEARL_SPACING = 5
ORDER_SPACING = 5
RANGE_SPACING = 50

PERP_EXPIRY = 2**32 - 1  # type(uint32).max means perpetual
INT24_MAX = 2**23 - 1
FUNDING_PERIOD = 86_400  # seconds; fundingHour*3600 where UpdateFundingHour set it
MAX_RANGE_TICK_DELTA = 16096

UINT128_MAX = 2**128 - 1
INT128_MAX = 2**127 - 1


class Status(IntEnum):
    DORMANT = 0
    TRADING = 1
    SETTLING = 2
    SETTLED = 3


class Condition(IntEnum):
    NORMAL = 0
    FROZEN = 1
    RESOLVED = 2


class QuoteType(IntEnum):
    INVALID = 0
    STABLE = 1
    NONSTABLE = 2
