-- title: Taker volume per hour
-- section: Volume
-- chart: bar
-- stack: yes
-- x: hour
-- series: symbol
-- y: volume_usd
-- unit: usd
-- x_name: hour (UTC)
-- y_name: USD per hour
-- table: no
SELECT hour, symbol, taker_volume_usd AS volume_usd, trades
FROM mart_volume_hourly ORDER BY hour, symbol;
