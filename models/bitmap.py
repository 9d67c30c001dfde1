"""Tick bitmap (spec §5, §8): one bit per pearl-spaced tick, 256 ticks a word, searched in both directions.

compressed = tick // PEARL_SPACING; wordPos = compressed >> 8; bitPos = compressed & 0xff, as in Uniswap v3's
TickBitmap.  A search looks inside one word, as the contract does, and reports whether the tick it returns is
initialised; the trade walk steps word by word.
"""


class TickBitmap:
    __slots__ = ("spacing", "words")

    def __init__(self, spacing: int, words: dict[int, int] | None = None):
        self.spacing = spacing
        self.words: dict[int, int] = words if words is not None else {}

    def flip(self, tick: int) -> None:
        if tick % self.spacing:
            raise ValueError(f"tick {tick} is not a multiple of {self.spacing}")
        c = tick // self.spacing
        w = c >> 8
        v = self.words.get(w, 0) ^ (1 << (c & 0xFF))
        if v:
            self.words[w] = v
        else:
            self.words.pop(w, None)

    def next_within_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        """Next initialised tick: the largest <= tick (lte) or the smallest > tick, within one word."""
        sp = self.spacing
        c = tick // sp
        if lte:
            w, b = c >> 8, c & 0xFF
            masked = self.words.get(w, 0) & ((2 << b) - 1)
            if masked:
                return (c - (b - (masked.bit_length() - 1))) * sp, True
            return (c - b) * sp, False
        c += 1
        w, b = c >> 8, c & 0xFF
        masked = self.words.get(w, 0) & ~((1 << b) - 1)
        if masked:
            lsb = (masked & -masked).bit_length() - 1
            return (c + (lsb - b)) * sp, True
        return (c + (255 - b)) * sp, False

    def initialised_ticks(self) -> list[int]:
        out = []
        for w, v in sorted(self.words.items()):
            while v:
                lsb = v & -v
                out.append(((w << 8) + lsb.bit_length() - 1) * self.spacing)
                v ^= lsb
        return out
