-- Every taker fill's size is split exactly into what resting orders filled and what the curve filled.
SELECT instrument, block_number, log_index, size, taken_size, curve_size
FROM fills
WHERE kind IN ('MARKET', 'LIQUIDATION') AND abs(size) <> taken_size + curve_size;
