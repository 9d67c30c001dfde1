"""Positions (docs/protocol-rules.md, "Positions"): valuation, funding and social-loss realisation, merging,
splitting, margin checks.

A position is {balance, size, entryNotional, entrySocialLossIndex, entryFundingIndex}, all WAD.  Rounding, as
SynFutures' replay computes it (oyster-sdk types/position.ts):
- funding realised = (index - entry) x |size|, rounded half away from zero (``wmulInt``, LibMathSigned.wmul);
- social loss = (index - entry) x |size|, rounded up (``wmulUp``);
- the entry notional closed by a merge, and a split's balance and entry notional, round half up (``frac``).
"""
from dataclasses import dataclass
from typing import NamedTuple

from .wad import mul_div_half_up, r2w, signed_wmul, wmul, wmul_up


@dataclass(slots=True)
class Position:
    balance: int = 0
    size: int = 0
    entry_notional: int = 0
    entry_social_loss_index: int = 0
    entry_funding_index: int = 0

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.balance, self.size, self.entry_notional, self.entry_social_loss_index,
                self.entry_funding_index)

    def copy(self) -> "Position":
        return Position(self.balance, self.size, self.entry_notional, self.entry_social_loss_index,
                        self.entry_funding_index)


class Indices(NamedTuple):  # a tuple: made on every action, where a frozen dataclass costs ~1 µs more
    """A pair's current funding and social-loss indices, and whether funding applies (perpetuals only)."""
    long_funding: int
    short_funding: int
    long_social_loss: int
    short_social_loss: int
    perp: bool

    def funding(self, size: int) -> int:
        return self.long_funding if size > 0 else self.short_funding

    def social_loss(self, size: int) -> int:
        return self.long_social_loss if size > 0 else self.short_social_loss


def funding_of(size: int, entry_funding_index: int, funding_index: int) -> int:
    """Funding owed to (+) or by (-) a position: (index - entry) x |size|, half away from zero."""
    return signed_wmul(funding_index - entry_funding_index, abs(size))


def social_loss_of(size: int, entry_sl_index: int, sl_index: int) -> int:
    """Social loss a position owes: roundUp((index - entry) x |size|)."""
    return wmul_up(sl_index - entry_sl_index, abs(size))


def unrealised_pnl(pos: Position, mark: int) -> int:
    value = wmul(mark, abs(pos.size))
    return value - pos.entry_notional if pos.size > 0 else pos.entry_notional - value


def equity(pos: Position, mark: int) -> int:
    """balance + pnl at mark (funding and social loss must already be realised)."""
    return pos.balance + (unrealised_pnl(pos, mark) if pos.size else 0)


def equity_unrealised(pos: Position, mark: int, idx: Indices) -> int:
    """balance + pnl at mark + funding due - social loss due, without touching the position (SDK ``tally``)."""
    if not pos.size:
        return pos.balance
    funding = funding_of(pos.size, pos.entry_funding_index, idx.funding(pos.size)) if idx.perp else 0
    loss = social_loss_of(pos.size, pos.entry_social_loss_index, idx.social_loss(pos.size))
    return pos.balance + unrealised_pnl(pos, mark) + funding - loss


def is_im_safe(pos: Position, mark: int, imr_bps: int) -> bool:
    return equity(pos, mark) >= wmul(wmul(mark, abs(pos.size)), r2w(imr_bps))


def is_mm_safe(pos: Position, mark: int, mmr_bps: int) -> bool:
    return equity(pos, mark) >= wmul(wmul(mark, abs(pos.size)), r2w(mmr_bps))


def realise_funding(pos: Position, idx: Indices) -> int:
    """Move the funding due into the balance and reset the entry funding index (perpetuals; a position of size 0
    or already at the index is left alone).  Returns the funding."""
    if not idx.perp or pos.size == 0:
        return 0
    current = idx.funding(pos.size)
    if current == pos.entry_funding_index:
        return 0
    funding = funding_of(pos.size, pos.entry_funding_index, current)
    pos.balance += funding
    pos.entry_funding_index = current
    return funding


def realise(pos: Position, idx: Indices) -> int:
    """Realise funding, then social loss (the entry social-loss index moves to the current one, as the SDK's
    realizeSocialLoss does even for size 0).  Returns the funding."""
    size = pos.size
    if size == 0:
        pos.entry_social_loss_index = idx.short_social_loss
        return 0
    funding = realise_funding(pos, idx)
    sl = idx.long_social_loss if size > 0 else idx.short_social_loss
    if sl != pos.entry_social_loss_index:  # (nothing is owed at the same index: skip the arithmetic)
        pos.balance -= social_loss_of(size, pos.entry_social_loss_index, sl)
        pos.entry_social_loss_index = sl
    return funding


def closed_size(a: Position, b: Position) -> int:
    """Size that merging b into a closes: the smaller magnitude when the sides are opposite, else 0."""
    if a.size == 0 or b.size == 0 or (a.size > 0) == (b.size > 0):
        return 0
    return min(abs(a.size), abs(b.size))


def combine(a: Position, b: Position) -> tuple[Position, int]:
    """Net b into a (both already realised at the same indices).  Returns (merged, realised pnl).

    The side that survives keeps its entry indices and loses the closed part of its entry notional, rounded
    half up (``frac``); a position netted to size 0 keeps only its balance."""
    if b.size == 0 or a.size == 0:
        keep = a if b.size == 0 else b
        return Position(a.balance + b.balance, keep.size, keep.entry_notional, keep.entry_social_loss_index,
                        keep.entry_funding_index), 0
    if (a.size > 0) == (b.size > 0):
        return Position(a.balance + b.balance, a.size + b.size, a.entry_notional + b.entry_notional,
                        a.entry_social_loss_index, a.entry_funding_index), 0
    size = a.size + b.size
    long, short = (a, b) if a.size > 0 else (b, a)
    closed = min(abs(a.size), abs(b.size))
    if size > 0:
        long_closed, short_closed = mul_div_half_up(long.entry_notional, closed, long.size), short.entry_notional
        survivor, entry = long, long.entry_notional - long_closed
    elif size < 0:
        long_closed, short_closed = long.entry_notional, mul_div_half_up(short.entry_notional, closed, -short.size)
        survivor, entry = short, short.entry_notional - short_closed
    else:
        long_closed, short_closed, survivor, entry = long.entry_notional, short.entry_notional, None, 0
    pnl = short_closed - long_closed
    return Position(a.balance + b.balance + pnl, size, entry,
                    survivor.entry_social_loss_index if survivor else 0,
                    survivor.entry_funding_index if survivor else 0), pnl


def split(pos: Position, part_size: int) -> tuple[Position, Position]:
    """(part, rest): `part_size` (the position's sign) taken out with its pro-rata balance and entry notional,
    both rounded half up; entry indices stay with both (SDK splitPosition)."""
    full, part = abs(pos.size), abs(part_size)
    # a negative balance splits by magnitude (the SDK's frac would truncate it toward zero)
    balance = mul_div_half_up(abs(pos.balance), part, full) * (1 if pos.balance >= 0 else -1)
    notional = mul_div_half_up(pos.entry_notional, part, full)
    return (Position(balance, part_size, notional, pos.entry_social_loss_index, pos.entry_funding_index),
            Position(pos.balance - balance, pos.size - part_size, pos.entry_notional - notional,
                     pos.entry_social_loss_index, pos.entry_funding_index))

