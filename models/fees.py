"""Trading fees of a taker (docs/protocol-rules.md, "Fees").

The taker pays ceil(entryNotional x (feeRatio + protocolFeeRatio) / 1e4): verified on two real Base quotes
(Instrument.inquire) and computed the same way by SynFutures' replay (oyster-sdk AccountState.applyTrade,
``wmulUp(entryNotional, r2w(feeRatio + protocolFeeRatio))``).

How that fee splits is not shown by any quote.  Our choice, following SynFutures' subgraph (its protocolFee is
entryNotional x protocolFeeRatio, truncated) and the pearl rule of its replay (each maker's rebate is
wmulDown(takenNotional, feeRatio)): the protocol keeps floor(N x protocolFeeRatio / 1e4), makers keep their
floored rebates, and the LPs receive the rest, so the rounding wei of the ceiling falls to the LPs and
taker fee = makers + LPs + protocol exactly.
"""
from .constants import RATIO_BASE


def taker_fee(notional: int, trading_fee_ratio: int, protocol_fee_ratio: int) -> int:
    """What the taker pays on a trade of `notional` (WAD quote), rounded up."""
    return -((-notional * (trading_fee_ratio + protocol_fee_ratio)) // RATIO_BASE)


def protocol_fee(notional: int, protocol_fee_ratio: int) -> int:
    """The protocol's part of a taker fee, rounded down."""
    return notional * protocol_fee_ratio // RATIO_BASE


def maker_rebate(taken_notional: int, fee_ratio: int) -> int:
    """A maker's rebate on notional taken from its order, rounded down (pearl.fee += wmulDown(N, r2w(f)))."""
    return taken_notional * fee_ratio // RATIO_BASE


def fee_split(notional: int, fee_ratio: int, protocol_fee_ratio: int, maker_rebates: int,
          has_liquidity: bool = True) -> tuple[int, int, int]:
    """(taker fee, protocol part, LP part): the LPs get what is left of the rounded-up taker fee after the protocol
    and the makers; with no liquidity at all the protocol keeps the LPs' part too."""
    fee = taker_fee(notional, fee_ratio, protocol_fee_ratio)
    to_protocol = protocol_fee(notional, protocol_fee_ratio)
    to_lps = fee - to_protocol - maker_rebates
    return (fee, to_protocol, to_lps) if has_liquidity else (fee, to_protocol + to_lps, 0)
