-- title: Taker volume per day (USD), by instrument
-- chart: bar
-- x: day
-- series: symbol
-- y: taker_volume_usd
SELECT day::DATE AS day, symbol, round(taker_volume_usd, 2) AS taker_volume_usd, trades, sweeps,
       round(sweep_volume_quote, 2) AS sweep_volume_quote, unique_traders, new_traders, usd_method
FROM mart_volume_daily ORDER BY day, symbol;
