-- title: Taker volume per day
-- section: Volume
-- chart: bar
-- stack: yes
-- x: day
-- series: symbol
-- y: taker_volume_usd
-- unit: usd
-- x_name: day (UTC)
-- y_name: USD per day
-- note: Σ Trade.entryNotional (taker side only, sweeps apart), in USD at the quote's price of the trade's hour;
-- note: DefiLlama adds WETH-quoted notional as if it were dollars, here it is converted (usd_method).
SELECT day::DATE AS day, symbol, taker_volume_usd, taker_volume_quote, quote_symbol, trades, sweeps,
       sweep_volume_quote, unique_traders, new_traders, usd_method
FROM mart_volume_daily ORDER BY day, symbol;
