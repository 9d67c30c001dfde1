"""Positions (spec §5, §6.7): valuation, funding and social-loss realisation, merging, margin checks.

A position is {balance, size, entryNotional, entrySocialLossIndex, entryFundingIndex}, all WAD.
Rounding (our choice where the spec is silent): funding floors (a payer pays the odd wei), social loss rounds
up (spec), and the entry notional closed by a merge is the pro-rata share rounded down.
"""
from dataclasses import dataclass

from .wad import r2w, wmul


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
        return Position(*self.as_tuple())


def funding_of(size: int, entry_funding_index: int, funding_index: int) -> int:
    """Funding owed to (+) or by (-) a position: (index - entry) * |size|, floored."""
    return (funding_index - entry_funding_index) * abs(size) // 10**18


def social_loss_of(size: int, entry_sl_index: int, sl_index: int) -> int:
    """Social loss a position owes: roundUp((index - entry) * |size|)."""
    return -((-(sl_index - entry_sl_index) * abs(size)) // 10**18)


def unrealised_pnl(pos: Position, mark: int) -> int:
    value = wmul(mark, abs(pos.size))
    return value - pos.entry_notional if pos.size > 0 else pos.entry_notional - value


def equity(pos: Position, mark: int) -> int:
    """balance + pnl at mark (funding and social loss must already be realised)."""
    return pos.balance + (unrealised_pnl(pos, mark) if pos.size else 0)


def is_im_safe(pos: Position, mark: int, imr_bps: int) -> bool:
    return equity(pos, mark) >= wmul(wmul(mark, abs(pos.size)), r2w(imr_bps))


def is_mm_safe(pos: Position, mark: int, mmr_bps: int) -> bool:
    return equity(pos, mark) >= wmul(wmul(mark, abs(pos.size)), r2w(mmr_bps))


def realise(pos: Position, long_funding: int, short_funding: int, long_sl: int, short_sl: int,
            perp: bool) -> int:
    """Move funding and social loss into the balance and reset the entry indices.  Returns the funding."""
    if pos.size == 0:
        pos.entry_funding_index = 0
        pos.entry_social_loss_index = 0
        return 0
    fidx = long_funding if pos.size > 0 else short_funding
    slidx = long_sl if pos.size > 0 else short_sl
    funding = funding_of(pos.size, pos.entry_funding_index, fidx) if perp else 0
    loss = social_loss_of(pos.size, pos.entry_social_loss_index, slidx)
    pos.balance += funding - loss
    pos.entry_funding_index = fidx if perp else 0
    pos.entry_social_loss_index = slidx
    return funding


def combine(a: Position, b: Position) -> tuple[Position, int]:
    """Merge b into a (both already realised at the same indices).  Returns (merged, realised pnl)."""
    if b.size == 0:
        return Position(a.balance + b.balance, a.size, a.entry_notional, a.entry_social_loss_index,
                        a.entry_funding_index), 0
    if a.size == 0:
        return Position(a.balance + b.balance, b.size, b.entry_notional, b.entry_social_loss_index,
                        b.entry_funding_index), 0
    if (a.size > 0) == (b.size > 0):
        return Position(a.balance + b.balance, a.size + b.size, a.entry_notional + b.entry_notional,
                        a.entry_social_loss_index, a.entry_funding_index), 0
    closed = min(abs(a.size), abs(b.size))
    a_closed = a.entry_notional if closed == abs(a.size) else a.entry_notional * closed // abs(a.size)
    b_closed = b.entry_notional if closed == abs(b.size) else b.entry_notional * closed // abs(b.size)
    long_n, short_n = (a_closed, b_closed) if a.size > 0 else (b_closed, a_closed)
    pnl = short_n - long_n
    size = a.size + b.size
    survivor = a if abs(a.size) > abs(b.size) else b
    surv_closed = a_closed if survivor is a else b_closed
    entry = survivor.entry_notional - surv_closed if size else 0
    return Position(a.balance + b.balance + pnl, size, entry,
                    survivor.entry_social_loss_index if size else 0,
                    survivor.entry_funding_index if size else 0), pnl
