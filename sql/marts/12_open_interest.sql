-- mart_open_interest_hourly (method v1): per pair at each hour boundary (the replay's hourly AMM snapshot).
--   long_oi / short_oi: totalLong / totalShort in base, positions plus orders already taken (LP-implied
--   positions are excluded, as on chain); oi_one_sided = max of the two (openInterests) x mark, in quote and
--   USD.  It is ONE-SIDED open interest: do not add long and short.
CREATE OR REPLACE VIEW mart_open_interest_hourly AS
SELECT to_timestamp(a.ts) AS hour, a.instrument, d.symbol, a.expiry, a.status,
       a.total_long::DOUBLE / 1e18 AS long_oi_base, a.total_short::DOUBLE / 1e18 AS short_oi_base,
       a.open_interests::DOUBLE / 1e18 * a.mark_f AS oi_one_sided_quote,
       a.open_interests::DOUBLE / 1e18 * a.mark_f * p.usd AS oi_one_sided_usd, p.method AS usd_method, a.mark_f
FROM amm_snapshots a JOIN dim_instruments d USING (instrument)
LEFT JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = to_timestamp(a.ts) - INTERVAL 1 HOUR
WHERE a.kind = 'hour';
