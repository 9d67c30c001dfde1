-- Every taker fill's size is split exactly into what resting orders filled and what the curve filled.
-- Scope: fills of blocks >= $from_block (-1: all).
SELECT instrument, block_number, log_index, size, taken_size, curve_size
FROM fills
WHERE kind IN ('MARKET', 'LIQUIDATION') AND abs(size) <> taken_size + curve_size AND block_number >= $from_block;
