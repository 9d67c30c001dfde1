"""The SynFutures V3 (Oyster AMM) protocol as pure Python: exact integers, the contract's rounding, no I/O.

Layers, lowest first: constants -> wad -> tick_math -> sqrt_price_math -> swap_math -> bitmap -> pearl ->
range_math -> position -> fees -> funding -> pair -> instrument -> divergence -> replay.  The rules and the
outside sources they follow: docs/protocol-rules.md.
"""
