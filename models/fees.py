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


def lp_fee(notional: int, trading_fee_ratio: int, protocol_fee_ratio: int, maker_rebates: int) -> int:
    """The LPs' part: what is left of the taker fee after the protocol and the makers."""
    return (taker_fee(notional, trading_fee_ratio, protocol_fee_ratio) - protocol_fee(notional, protocol_fee_ratio)
            - maker_rebates)
