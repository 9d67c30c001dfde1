-- title: Protocol taker volume per hour (USD)
-- chart: line
-- x: hour
-- y: volume_usd
SELECT hour, round(sum(taker_volume_usd), 2) AS volume_usd, sum(trades) AS trades
FROM mart_volume_hourly GROUP BY hour ORDER BY hour;
