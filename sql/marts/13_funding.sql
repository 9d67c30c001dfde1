-- mart_funding_hourly (method v1): perpetuals, per hour, from UpdateFundingIndex (packed long/short halves).
--   d_long / d_short: change of each side's index over the hour (first reading before the hour to the last in
--   it; WAD quote per unit base).  rate_hourly = -d_long / mark (what a long paid per unit notional, + when
--   longs pay); rate_annualised = rate_hourly x 24 x 365.  paid_by_longs / received_by_shorts (quote) =
--   -d_long x long OI / d_short x short OI at the hour's end.
CREATE OR REPLACE VIEW mart_funding_hourly AS
WITH f AS (
    SELECT instrument, date_trunc('hour', to_timestamp(ts)) AS hour,
           arg_max(long_funding_index::HUGEINT, block_number * 100000 + log_index) AS long_idx,
           arg_max(short_funding_index::HUGEINT, block_number * 100000 + log_index) AS short_idx,
           arg_max(mark_f, block_number * 100000 + log_index) AS mark_f,
           arg_max(total_long::HUGEINT, block_number * 100000 + log_index) AS total_long,
           arg_max(total_short::HUGEINT, block_number * 100000 + log_index) AS total_short
    FROM funding_index_series GROUP BY ALL
),
d AS (
    SELECT *, (long_idx - coalesce(lag(long_idx) OVER w, 0))::DOUBLE / 1e18 AS d_long,
              (short_idx - coalesce(lag(short_idx) OVER w, 0))::DOUBLE / 1e18 AS d_short
    FROM f WINDOW w AS (PARTITION BY instrument ORDER BY hour)
)
SELECT hour, instrument, i.symbol, d_long, d_short, -d_long / mark_f AS rate_hourly,
       -d_long / mark_f * 24 * 365 AS rate_annualised,
       -d_long * total_long::DOUBLE / 1e18 AS paid_by_longs_quote,
       d_short * total_short::DOUBLE / 1e18 AS received_by_shorts_quote, mark_f
FROM d JOIN dim_instruments i USING (instrument);
