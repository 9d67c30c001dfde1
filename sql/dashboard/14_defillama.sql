-- title: DefiLlama's keys, our numbers (mart_defillama_daily)
-- section: DefiLlama keys
-- chart: table
-- note: One row per day for the chain ('all') and per instrument. dailyVolume converts WETH-quoted notional to
-- note: USD; DefiLlama's adapter counts it as dollars unconverted (dailyVolume_as_defillama). Methods: the mart's
-- note: header (sql/marts/40_defillama.sql) and the *_method columns.
SELECT day, chain, symbol, dailyVolume, dailyVolume_as_defillama, dailyFees, dailySupplySideRevenue, dailyRevenue,
       openInterestAtEnd, longOpenInterestAtEnd, shortOpenInterestAtEnd, dailyActiveUsers, dailyNewUsers,
       dailyLiquidationVolume, usd_method
FROM mart_defillama_daily ORDER BY day, symbol <> 'all', symbol;
