-- mart_defillama_daily (method v1): our daily numbers under the keys DefiLlama's dimension adapters publish
-- (dailyVolume, dailyFees, ...), so that a figure can be set beside DefiLlama's by name.  One row per UTC day and
-- instrument, plus one row per day for the whole chain (instrument NULL, symbol 'all'; its user counts are
-- distinct over the chain, not the sum of the instruments').  What each key holds here, and how DefiLlama differs:
--   dailyVolume            taker volume: Σ Trade.entryNotional (sweeps excluded, maker fills never added), in USD
--                          at the quote token's USD price of the trade's hour (usd_method: 'stable=1' or
--                          'oracle:<pair>' for WETH).  DefiLlama's SynFutures adapter adds entryNotional/1e18 as USD
--                          without conversion, so a WETH-quoted pair's volume counts ~1/2000 of its value there:
--                          dailyVolume_as_defillama is that unconverted figure, for the comparison.
--   dailyFees = dailyUserFees   taker fees paid (trades and sweeps): maker rebates + LP fees + protocol fees, the
--                          exact split from the replay (DefiLlama reads the subgraph's ratio estimates).
--   dailySupplySideRevenue maker rebates + LP fees (to liquidity: resting orders and ranges).
--   dailyRevenue = dailyProtocolRevenue   protocol fees (Fees - SupplySide, DefiLlama's rule).
--   openInterestAtEnd      one-sided open interest, openInterests x mark, USD, at the last hourly snapshot of the day
--                          (DefiLlama: Observer openInterests x mark of TRADING pairs); long/shortOpenInterestAtEnd:
--                          totalLong / totalShort x mark (one side each; never add them).
--   dailyActiveUsers / dailyNewUsers   distinct takers of the day / takers whose first trade is that day.
--   dailyLiquidationVolume liquidated notional (take-overs at mark, sweeps at entryNotional), USD.
-- chain: the warehouse's chain (warehouse_identity), chain_id beside it.
CREATE TABLE IF NOT EXISTS warehouse_identity (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

-- incremental: day
CREATE OR REPLACE TABLE mart_defillama_daily AS
-- Exact by day: a day's rows read fact_trades rows of that day (and each trader's first day over all history),
-- the hourly AMM snapshots that close that day (those after the watermark's hour, the only ones the replay
-- rewrites, close that day or later), liquidations and prices of that day; the chain's name (warehouse_identity)
-- and the instruments are in the signature.  Written as one union of facts grouped by (day, instrument), so that
-- the day filter reaches the scans of fact_trades.  Sums of trades add 12-place decimals, as in
-- mart_volume_hourly: the same in any order.
WITH ident AS (
    SELECT max(value) FILTER (WHERE key = 'chain') AS chain, max(value) FILTER (WHERE key = 'chain_id') AS chain_id
    FROM warehouse_identity
),
first_seen AS (SELECT trader, min(day) AS first_day FROM fact_trades WHERE kind = 'trade' GROUP BY 1),
trades AS (
    SELECT day::DATE AS day, instrument, symbol,
           coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS dailyVolume,
           coalesce(sum(notional_quote::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE
               AS dailyVolume_as_defillama,
           sum((taker_fee_wad::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE AS dailyFees,
           sum(((maker_fee_wad + lp_fee_wad)::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE
               AS dailySupplySideRevenue,
           sum((protocol_fee_wad::DOUBLE / 1e18 * quote_usd)::DECIMAL(38, 12))::DOUBLE AS dailyRevenue,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS dailyActiveUsers,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND day = f.first_day) AS dailyNewUsers,
           string_agg(DISTINCT usd_method, ', ' ORDER BY usd_method) AS usd_method
    FROM fact_trades LEFT JOIN first_seen f USING (trader)
    GROUP BY GROUPING SETS ((day), (day, instrument, symbol))
),
oi_pairs AS (  -- each pair's last hourly snapshot of the day (the one at 00:00 closes the day before)
    SELECT (o.hour - INTERVAL 1 SECOND)::DATE AS day, o.instrument, o.expiry,
           arg_max(o.open_interests_base * o.mark_f * p.usd, o.hour) AS oi_usd,
           arg_max(o.long_oi_base * o.mark_f * p.usd, o.hour) AS long_usd,
           arg_max(o.short_oi_base * o.mark_f * p.usd, o.hour) AS short_usd
    FROM (SELECT to_timestamp(a.ts) AS hour, a.instrument, a.expiry, a.mark_f,
                 a.open_interests::DOUBLE / 1e18 AS open_interests_base, a.total_long::DOUBLE / 1e18 AS long_oi_base,
                 a.total_short::DOUBLE / 1e18 AS short_oi_base
          FROM amm_snapshots a WHERE a.kind = 'hour') o
    JOIN dim_instruments d USING (instrument)
    LEFT JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = o.hour - INTERVAL 1 HOUR
    GROUP BY ALL
),
oi AS (
    SELECT day, instrument, any_value(d.symbol) AS symbol, sum(oi_usd) AS openInterestAtEnd,
           sum(long_usd) AS longOpenInterestAtEnd, sum(short_usd) AS shortOpenInterestAtEnd
    FROM oi_pairs JOIN dim_instruments d USING (instrument)
    GROUP BY GROUPING SETS ((day), (day, instrument))
),
liq AS (
    SELECT day::DATE AS day, instrument, sum(notional_usd) AS dailyLiquidationVolume
    FROM mart_liquidations_daily GROUP BY GROUPING SETS ((day), (day, instrument))
),
facts AS (  -- one row per source and key; a (day, instrument) has at most one of each
    SELECT day, instrument, dailyVolume, dailyVolume_as_defillama, dailyFees, dailySupplySideRevenue, dailyRevenue,
           dailyActiveUsers, dailyNewUsers, usd_method FROM trades
    UNION ALL BY NAME
    SELECT day, instrument, openInterestAtEnd, longOpenInterestAtEnd, shortOpenInterestAtEnd FROM oi
    UNION ALL BY NAME
    SELECT day, instrument, dailyLiquidationVolume FROM liq
),
keys AS (
    SELECT day, instrument, max(dailyVolume) AS dailyVolume, max(dailyVolume_as_defillama) AS dailyVolume_as_defillama,
           max(dailyFees) AS dailyFees, max(dailySupplySideRevenue) AS dailySupplySideRevenue,
           max(dailyRevenue) AS dailyRevenue, max(openInterestAtEnd) AS openInterestAtEnd,
           max(longOpenInterestAtEnd) AS longOpenInterestAtEnd, max(shortOpenInterestAtEnd) AS shortOpenInterestAtEnd,
           max(dailyActiveUsers) AS dailyActiveUsers, max(dailyNewUsers) AS dailyNewUsers,
           max(dailyLiquidationVolume) AS dailyLiquidationVolume, max(usd_method) AS usd_method
    FROM facts GROUP BY day, instrument
)
SELECT k.day, i.chain, i.chain_id, k.instrument,
       CASE WHEN k.instrument IS NULL THEN 'all' ELSE d.symbol END AS symbol,
       coalesce(k.dailyVolume, 0) AS dailyVolume, coalesce(k.dailyVolume_as_defillama, 0) AS dailyVolume_as_defillama,
       coalesce(k.dailyFees, 0) AS dailyFees, coalesce(k.dailyFees, 0) AS dailyUserFees,
       coalesce(k.dailySupplySideRevenue, 0) AS dailySupplySideRevenue, coalesce(k.dailyRevenue, 0) AS dailyRevenue,
       coalesce(k.dailyRevenue, 0) AS dailyProtocolRevenue,
       k.openInterestAtEnd, k.longOpenInterestAtEnd, k.shortOpenInterestAtEnd,
       coalesce(k.dailyActiveUsers, 0) AS dailyActiveUsers, coalesce(k.dailyNewUsers, 0) AS dailyNewUsers,
       coalesce(k.dailyLiquidationVolume, 0) AS dailyLiquidationVolume,
       k.usd_method,
       'taker Trade.entryNotional in USD (quote converted); DefiLlama: entryNotional as USD, unconverted'
           AS volume_method,
       'taker fees = maker rebates + LP fees (supply side) + protocol fees (revenue), exact from the replay'
           AS fees_method,
       'openInterests x mark in USD, one-sided, last hourly snapshot of the day' AS oi_method
FROM keys k CROSS JOIN ident i
LEFT JOIN dim_instruments d ON d.instrument = k.instrument
ORDER BY k.day, k.instrument NULLS FIRST;
