-- title: Open interest, one-sided, at mark (USD)
-- chart: line
-- x: hour
-- series: symbol
-- y: oi_one_sided_usd
SELECT hour, symbol, round(oi_one_sided_usd, 2) AS oi_one_sided_usd, round(long_oi_base, 4) AS long_oi_base,
       round(short_oi_base, 4) AS short_oi_base
FROM mart_open_interest_hourly WHERE oi_one_sided_usd IS NOT NULL ORDER BY hour, symbol;
