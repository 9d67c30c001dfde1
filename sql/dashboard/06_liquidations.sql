-- title: Liquidations per day
-- section: Liquidations
-- chart: bar
-- stack: yes
-- x: day
-- series: symbol
-- y: notional_usd
-- unit: usd
-- x_name: day (UTC)
-- y_name: USD liquidated per day
-- note: Take-overs (Liquidate, at mark) and sweeps (forced closes against the AMM, at entryNotional), in USD.
SELECT day::DATE AS day, symbol, notional_usd, take_overs, sweeps, notional_quote, liquidators, liquidated_accounts
FROM mart_liquidations_daily ORDER BY day, symbol;
