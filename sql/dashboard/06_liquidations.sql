-- title: Liquidations per day
-- chart: table
SELECT day::DATE AS day, symbol, take_overs, sweeps, round(notional_usd, 2) AS notional_usd, liquidators,
       liquidated_accounts
FROM mart_liquidations_daily ORDER BY day, symbol;
