-- mart_fees_daily (method v1): per instrument and day, the taker fees paid and where they went:
--   maker rebates (feeRatio on notional taken from resting orders), LP fees (feeRatio on curve notional, the
--   rounding remainder included), protocol fees (protocolFeeRatio on all notional).  Exact WAD sums plus quote
--   and USD; taker = maker + lp + protocol holds row by row.  Cross-check: lp_fee_wad against the rise of
--   UpdateFeeState.feeIndex times totalLiquidity (dust of the index's floor aside).
-- incremental: day
--   Exact: a day's rows read fact_trades rows of that day only; USD sums add 12-place decimals (exact, in
--   any order: see mart_volume_hourly).
CREATE OR REPLACE TABLE mart_fees_daily AS
SELECT day, instrument, symbol, quote_symbol,
       sum(taker_fee_wad) AS taker_fee_wad, sum(maker_fee_wad) AS maker_rebate_wad, sum(lp_fee_wad) AS lp_fee_wad,
       sum(protocol_fee_wad) AS protocol_fee_wad,
       sum(taker_fee_wad)::DOUBLE / 1e18 AS taker_fee_quote, sum(maker_fee_wad)::DOUBLE / 1e18 AS maker_rebate_quote,
       sum(lp_fee_wad)::DOUBLE / 1e18 AS lp_fee_quote, sum(protocol_fee_wad)::DOUBLE / 1e18 AS protocol_fee_quote,
       sum((taker_fee_wad::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE AS taker_fee_usd,
       sum((lp_fee_wad::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE AS lp_fee_usd,
       sum((protocol_fee_wad::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE AS protocol_fee_usd,
       string_agg(DISTINCT usd_method, ', ' ORDER BY usd_method) AS usd_method
FROM fact_trades GROUP BY ALL;
