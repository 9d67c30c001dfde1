"""Pearls and records (docs/protocol-rules.md, "Orders"): the per-tick state shared by LP range boundaries and limit orders.

A pearl holds Uniswap-style liquidityGross/Net and the order book of its tick: ``left`` is the signed unfilled
size resting there (+ bids, - asks), ``taken`` the size taken from the current epoch (the makers' sign), ``fee``
the maker rebate accrued to that epoch, and size-weighted entry indices.  When ``left`` reaches 0 with something
taken, the epoch is archived as a Record keyed (tick, nonce) and the nonce advances.
"""
from dataclasses import dataclass

from .wad import div_trunc


class Pearl:
    __slots__ = ("liquidity_gross", "liquidity_net", "nonce", "left", "taken", "fee",
                 "entry_social_loss_index", "entry_funding_index")

    def __init__(self, liquidity_gross=0, liquidity_net=0, nonce=0, left=0, taken=0, fee=0,
                 entry_social_loss_index=0, entry_funding_index=0):
        self.liquidity_gross = liquidity_gross
        self.liquidity_net = liquidity_net
        self.nonce = nonce
        self.left = left
        self.taken = taken
        self.fee = fee
        self.entry_social_loss_index = entry_social_loss_index
        self.entry_funding_index = entry_funding_index

    @property
    def initialised(self) -> bool:
        """A tick is in the bitmap while it bounds liquidity or holds resting orders (docs/protocol-rules.md, "State")."""
        return self.liquidity_gross > 0 or self.left != 0

    def as_tuple(self) -> tuple:
        return tuple(getattr(self, s) for s in Pearl.__slots__)


@dataclass(slots=True)
class Record:
    """An archived, fully taken order epoch at one tick."""
    taken: int
    fee: int
    entry_social_loss_index: int
    entry_funding_index: int


def weighted_index(old_index: int, old_size: int, new_index: int, add_size: int) -> int:
    """Size-weighted average of an entry index (sizes as magnitudes), truncated toward zero as Solidity's signed
    division does (SynFutures' replay: weightedAverage with BigNumber division): a negative funding index
    average rounds up, not down."""
    total = old_size + add_size
    if total == 0:
        return 0
    return div_trunc(old_index * old_size + new_index * add_size, total)


def oid(tick: int, nonce: int) -> int:
    """Order id (docs/protocol-rules.md, "State"): (uint24(tick) << 24) | nonce."""
    return ((tick & 0xFFFFFF) << 24) | nonce


def rid(tick_lower: int, tick_upper: int) -> int:
    """Range id (docs/protocol-rules.md, "State"): (uint24(tickLower) << 24) | uint24(tickUpper)."""
    return ((tick_lower & 0xFFFFFF) << 24) | (tick_upper & 0xFFFFFF)


def _int24(v: int) -> int:
    v &= 0xFFFFFF
    return v - (1 << 24) if v & 0x800000 else v


def unpack_oid(key: int) -> tuple[int, int]:
    return _int24(key >> 24), key & 0xFFFFFF


def unpack_rid(key: int) -> tuple[int, int]:
    return _int24(key >> 24), _int24(key)
