-- fact_trades (method v1): one row per taker trade (Trade) and forced close (Sweep), the volume facts.
--   notional = entryNotional (quote, WAD); maker fills are never added again.
--   Fees: taker fee = floor(N*feeRatio/1e4) + floor(N*protocolFeeRatio/1e4); its exact split into maker
--   rebates, LP fee and protocol fee comes from the replay (fills), which walks the same orders and curve.
--   USD at the quote's price of the trade's hour (mart_quote_prices_hourly, its method beside it).
-- incremental: hour (block_timestamp)
--   Exact: a row reads its own trade or sweep, its block's fills and its hour's price; for an hour before the
--   watermark's, none of them changed (later blocks only; prices exact as above).  Keyed by hour, not block: a
--   late oracle reading changes the price of trades earlier in the same hour.  block_timestamp >= the hour's
--   start selects the same rows and lets DuckDB skip the events' old row groups.
CREATE OR REPLACE TABLE fact_trades AS
WITH t AS (
    SELECT 'trade' AS kind, address AS instrument, expiry, trader, block_number, log_index, block_timestamp,
           size::HUGEINT AS size, entry_notional::HUGEINT AS notional_wad, taken_value::HUGEINT AS taken_value_wad,
           fee_ratio
    FROM events_trade
    UNION ALL
    SELECT 'sweep', address, expiry, trader, block_number, log_index, block_timestamp, size::HUGEINT,
           entry_notional::HUGEINT, taken_value::HUGEINT, fee_ratio
    FROM events_sweep
)
SELECT t.*, to_timestamp(t.block_timestamp) AS time, date_trunc('hour', to_timestamp(t.block_timestamp)) AS hour,
       date_trunc('day', to_timestamp(t.block_timestamp)) AS day, d.symbol, d.quote, d.quote_symbol,
       t.notional_wad::DOUBLE / 1e18 AS notional_quote,
       f.fee::HUGEINT AS taker_fee_wad, f.maker_fee::HUGEINT AS maker_fee_wad, f.lp_fee::HUGEINT AS lp_fee_wad,
       f.protocol_fee::HUGEINT AS protocol_fee_wad,
       p.usd AS quote_usd, p.method AS usd_method,
       t.notional_wad::DOUBLE / 1e18 * p.usd AS notional_usd
FROM t
JOIN dim_instruments d ON d.instrument = t.instrument
LEFT JOIN fills f ON f.block_number = t.block_number AND f.log_index = t.log_index
                 AND f.kind IN ('MARKET', 'LIQUIDATION')
LEFT JOIN mart_quote_prices_hourly p ON p.quote = d.quote
                                     AND p.hour = date_trunc('hour', to_timestamp(t.block_timestamp));
