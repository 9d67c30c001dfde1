-- title: Open interest, long and short
-- section: Open interest and funding
-- chart: line
-- x: hour
-- series: symbol, side
-- y: oi_usd
-- unit: usd
-- x_name: hour (UTC)
-- y_name: USD at mark
-- note: totalLong and totalShort (base) x mark, in USD, at each hour's end. Each side is one-sided open
-- note: interest: do not add them (the AMM is a counterparty, so long and short differ).
SELECT hour, symbol, side, oi_usd, oi_base
FROM (
    SELECT o.hour, o.symbol, s.side,
           CASE s.side WHEN 'long' THEN o.long_oi_base ELSE o.short_oi_base END * o.mark_f * p.usd AS oi_usd,
           CASE s.side WHEN 'long' THEN o.long_oi_base ELSE o.short_oi_base END AS oi_base
    FROM mart_open_interest_hourly o JOIN dim_instruments d USING (instrument)
    JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = o.hour - INTERVAL 1 HOUR,
         (VALUES ('long'), ('short')) s(side)
)
WHERE oi_usd IS NOT NULL ORDER BY hour, symbol, side;
