"""Tick bitmap (docs/protocol-rules.md, "State", "The walk"): one bit per pearl-spaced tick, 256 ticks a word, searched in both directions.

compressed = tick // PEARL_SPACING; wordPos = compressed >> 8; bitPos = compressed & 0xff, as in Uniswap v3's
TickBitmap.  ``next_initialised`` searches across words in one call, as SynFutures' replay does
(oyster-sdk TickMath.nextInitializedTick): the trade walk goes straight to the next initialised tick, without
the intermediate stop at each word edge that Uniswap's contract makes (docs/protocol-rules.md, "The walk").
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

    def next_initialised(self, tick: int, lte: bool, bound: int) -> tuple[int, bool]:
        """The next initialised tick in one step: the largest <= tick (lte) or the smallest > tick, searched
        across words; (bound, False) when there is none before `bound` (MIN_TICK or MAX_TICK)."""
        sp = self.spacing
        words = self.words
        c = tick // sp
        if lte:
            w, b = c >> 8, c & 0xFF
            masked = words.get(w, 0) & ((2 << b) - 1)
            last = (bound // sp) >> 8
            while not masked:
                w -= 1
                if w < last:
                    return bound, False
                masked = words.get(w, 0)
            t = ((w << 8) + masked.bit_length() - 1) * sp
            return (t, True) if t >= bound else (bound, False)
        c += 1
        w, b = c >> 8, c & 0xFF
        masked = words.get(w, 0) & ~((1 << b) - 1)
        last = (bound // sp) >> 8
        while not masked:
            w += 1
            if w > last:
                return bound, False
            masked = words.get(w, 0)
        t = ((w << 8) + (masked & -masked).bit_length() - 1) * sp
        return (t, True) if t <= bound else (bound, False)

    def initialised_ticks(self) -> list[int]:
        out = []
        for w, v in sorted(self.words.items()):
            while v:
                lsb = v & -v
                out.append(((w << 8) + lsb.bit_length() - 1) * self.spacing)
                v ^= lsb
        return out
