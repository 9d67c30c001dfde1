-- title: Headline numbers
-- chart: headline
-- One row per scope ('all' = the protocol, else an instrument's symbol) and metric: the value over the window
-- that ends at the data's as-of time (the newest ingested block, not the clock: a historical warehouse reads as
-- of its own last block), and the same measure over the window before it.
--   volume: taker volume (Trade entryNotional, sweeps excluded, as DefiLlama counts it) in USD at the quote's
--   price of the trade's hour; fees: taker fees paid (trades and sweeps) in USD; OI long / short: totalLong /
--   totalShort x mark in USD at each pair's last snapshot (one side each: do not add them); TVL: involvedFund of
--   every pair, the dated future's included, at its last hourly reading; active LPs: owners with a range open at
--   that time; traders: distinct takers in the window.
WITH latest AS (SELECT max(block_timestamp) AS t FROM raw_logs),
scopes AS (SELECT symbol AS scope, instrument FROM dim_instruments
           UNION ALL SELECT 'all', instrument FROM dim_instruments),
trades AS (
    SELECT s.scope,
           sum(notional_usd) FILTER (WHERE kind = 'trade' AND block_timestamp > t - 86400) AS vol_24h,
           sum(notional_usd) FILTER (WHERE kind = 'trade' AND block_timestamp <= t - 86400
                                     AND block_timestamp > t - 2 * 86400) AS vol_24h_prior,
           sum(notional_usd) FILTER (WHERE kind = 'trade' AND block_timestamp > t - 7 * 86400) AS vol_7d,
           sum(notional_usd) FILTER (WHERE kind = 'trade' AND block_timestamp <= t - 7 * 86400
                                     AND block_timestamp > t - 14 * 86400) AS vol_7d_prior,
           sum(taker_fee_wad::DOUBLE / 1e18 * quote_usd) FILTER (WHERE block_timestamp > t - 86400) AS fee_24h,
           sum(taker_fee_wad::DOUBLE / 1e18 * quote_usd) FILTER (WHERE block_timestamp <= t - 86400
                                                                 AND block_timestamp > t - 2 * 86400) AS fee_24h_prior,
           sum(taker_fee_wad::DOUBLE / 1e18 * quote_usd) FILTER (WHERE block_timestamp > t - 7 * 86400) AS fee_7d,
           sum(taker_fee_wad::DOUBLE / 1e18 * quote_usd) FILTER (WHERE block_timestamp <= t - 7 * 86400
                                                                 AND block_timestamp > t - 14 * 86400) AS fee_7d_prior,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND block_timestamp > t - 86400) AS traders_24h,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND block_timestamp <= t - 86400
                                          AND block_timestamp > t - 2 * 86400) AS traders_24h_prior,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND block_timestamp > t - 7 * 86400) AS traders_7d,
           count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND block_timestamp <= t - 7 * 86400
                                          AND block_timestamp > t - 14 * 86400) AS traders_7d_prior
    FROM scopes s JOIN fact_trades f USING (instrument), latest GROUP BY s.scope
),
at_times AS (SELECT 'now' AS w, t AS at FROM latest UNION ALL SELECT 'prior', t - 86400 FROM latest),
prices AS (SELECT quote, epoch(hour)::BIGINT AS ts, usd FROM mart_quote_prices_hourly WHERE usd IS NOT NULL),
amm AS (  -- each pair's last AMM snapshot at or before the time
    SELECT w, a.instrument, a.expiry, arg_max(a.total_long, (a.ts, a.block_number, a.log_index, a.kind)) AS total_long,
           arg_max(a.total_short, (a.ts, a.block_number, a.log_index, a.kind)) AS total_short,
           arg_max(a.mark_f, (a.ts, a.block_number, a.log_index, a.kind)) AS mark_f, max(a.ts) AS ts
    FROM at_times JOIN amm_snapshots a ON a.ts <= at_times.at GROUP BY ALL
),
amm_usd AS (
    SELECT m.*, p.usd FROM (SELECT amm.*, d.quote FROM amm JOIN dim_instruments d USING (instrument)) m
    ASOF LEFT JOIN prices p ON p.quote = m.quote AND m.ts >= p.ts
),
oi AS (
    SELECT s.scope, w, sum(total_long::DOUBLE / 1e18 * mark_f * usd) AS oi_long,
           sum(total_short::DOUBLE / 1e18 * mark_f * usd) AS oi_short
    FROM scopes s JOIN amm_usd USING (instrument) GROUP BY ALL
),
tvl_pairs AS (
    SELECT w, h.instrument, h.expiry, arg_max(h.involved_fund, h.ts) AS involved_fund, max(h.ts) AS ts
    FROM at_times JOIN pair_hourly h ON h.ts <= at_times.at GROUP BY ALL
),
tvl AS (
    SELECT s.scope, w, sum(involved_fund::DOUBLE / 1e18 * p.usd) AS tvl
    FROM (SELECT t.*, d.quote FROM tvl_pairs t JOIN dim_instruments d USING (instrument)) m
    ASOF LEFT JOIN prices p ON p.quote = m.quote AND m.ts >= p.ts
    JOIN scopes s USING (instrument) GROUP BY ALL
),
lps AS (
    SELECT s.scope, w, count(DISTINCT r.owner) AS lps
    FROM at_times JOIN lp_ranges r ON r.added_ts <= at_times.at AND (r.removed_ts IS NULL OR r.removed_ts > at_times.at)
    JOIN scopes s USING (instrument) GROUP BY ALL
),
all_scopes AS (SELECT DISTINCT scope FROM scopes),
m AS (
    SELECT a.scope, x.* FROM all_scopes a
    LEFT JOIN trades t USING (scope)
    LEFT JOIN (SELECT scope, max(oi_long) FILTER (WHERE w = 'now') AS oi_long_now,
                          max(oi_long) FILTER (WHERE w = 'prior') AS oi_long_prior,
                          max(oi_short) FILTER (WHERE w = 'now') AS oi_short_now,
                          max(oi_short) FILTER (WHERE w = 'prior') AS oi_short_prior FROM oi GROUP BY scope) o
           USING (scope)
    LEFT JOIN (SELECT scope, max(tvl) FILTER (WHERE w = 'now') AS tvl_now,
                          max(tvl) FILTER (WHERE w = 'prior') AS tvl_prior FROM tvl GROUP BY scope) v USING (scope)
    LEFT JOIN (SELECT scope, max(lps) FILTER (WHERE w = 'now') AS lps_now,
                          max(lps) FILTER (WHERE w = 'prior') AS lps_prior FROM lps GROUP BY scope) l USING (scope),
    LATERAL (VALUES
        (1, 'volume_24h', 'Volume 24h', coalesce(t.vol_24h, 0), coalesce(t.vol_24h_prior, 0), 'usd', 'prior 24h'),
        (2, 'volume_7d', 'Volume 7d', coalesce(t.vol_7d, 0), coalesce(t.vol_7d_prior, 0), 'usd', 'prior 7d'),
        (3, 'fees_24h', 'Fees 24h', coalesce(t.fee_24h, 0), coalesce(t.fee_24h_prior, 0), 'usd', 'prior 24h'),
        (4, 'fees_7d', 'Fees 7d', coalesce(t.fee_7d, 0), coalesce(t.fee_7d_prior, 0), 'usd', 'prior 7d'),
        (5, 'oi_long', 'Open interest, long', coalesce(o.oi_long_now, 0), o.oi_long_prior, 'usd', '24h ago'),
        (6, 'oi_short', 'Open interest, short', coalesce(o.oi_short_now, 0), o.oi_short_prior, 'usd', '24h ago'),
        (7, 'tvl', 'TVL', coalesce(v.tvl_now, 0), v.tvl_prior, 'usd', '24h ago'),
        (8, 'active_lps', 'Active LPs', coalesce(l.lps_now, 0), coalesce(l.lps_prior, 0), 'num', '24h ago'),
        (9, 'traders_24h', 'Traders 24h', coalesce(t.traders_24h, 0), coalesce(t.traders_24h_prior, 0), 'num',
         'prior 24h'),
        (10, 'traders_7d', 'Traders 7d', coalesce(t.traders_7d, 0), coalesce(t.traders_7d_prior, 0), 'num', 'prior 7d')
    ) x(pos, metric, label, value, prior, unit, versus)
)
SELECT scope, pos, metric, label, value::DOUBLE AS value, prior::DOUBLE AS prior,
       value::DOUBLE / nullif(prior::DOUBLE, 0) - 1 AS change, unit, versus, to_timestamp((SELECT t FROM latest)) AS as_of
FROM m ORDER BY scope <> 'all', scope, pos;
