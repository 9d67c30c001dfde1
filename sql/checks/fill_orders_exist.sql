-- Every LIMIT fill belongs to an order that was placed.  Scope: fills of blocks >= $from_block (-1: all), against
-- every order.
SELECT f.instrument, f.block_number, f.log_index, f.trader, f.tick, f.nonce
FROM fills f
LEFT JOIN orders o USING (instrument, expiry, trader, tick, nonce)
WHERE f.kind = 'LIMIT' AND o.trader IS NULL AND f.block_number >= $from_block;
