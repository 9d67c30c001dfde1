-- title: Cumulative taker volume
-- section: Volume
-- chart: area
-- stack: yes
-- x: hour
-- series: symbol
-- y: cumulative_volume_usd
-- unit: usd
-- x_name: hour (UTC)
-- y_name: USD, cumulative
-- table: no
-- note: Running total of the hourly taker volume of each instrument since the first indexed block; stacked, so
-- note: the top line is the protocol's.
WITH grid AS (
    SELECT h.hour, i.symbol FROM (SELECT DISTINCT hour FROM mart_volume_hourly) h, (SELECT DISTINCT symbol FROM mart_volume_hourly) i
)
SELECT g.hour, g.symbol,
       sum(coalesce(v.taker_volume_usd, 0)) OVER (PARTITION BY g.symbol ORDER BY g.hour) AS cumulative_volume_usd
FROM grid g LEFT JOIN mart_volume_hourly v USING (hour, symbol)
ORDER BY g.hour, g.symbol;
