-- mart_volume_hourly (method v1): per instrument and hour.
--   taker_volume = Σ entryNotional of Trade; sweep_volume = Σ entryNotional of Sweep, reported apart and in
--   total_volume (the subgraph counts sweeps, DefiLlama does not: both are here).  Quote units and USD.
--   unique_traders: distinct takers in the hour; new_traders: takers whose first trade on the protocol
--   (any instrument) falls in the hour.
--   Sums of quote and USD amounts add decimals of 12 places (exact, in any order), then become DOUBLE: a float
--   sum depends on the order rows are added in (threads, where an incremental build appended them), and an
--   incremental build must equal a full one to the last bit.
-- incremental: hour
--   Exact: an hour's row reads fact_trades rows of that hour, and new_traders each trader's first hour over the
--   whole history (the filter is applied outside the query); a trader's first hour before the watermark's hour
--   is set by rows that did not change.
CREATE OR REPLACE TABLE mart_volume_hourly AS
WITH first_seen AS (SELECT trader, min(hour) AS first_hour FROM fact_trades WHERE kind = 'trade' GROUP BY 1)
SELECT hour, instrument, symbol, quote, quote_symbol,
       count(*) FILTER (WHERE kind = 'trade') AS trades,
       count(*) FILTER (WHERE kind = 'sweep') AS sweeps,
       coalesce(sum(notional_wad) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_wad,
       coalesce(sum(notional_quote::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS taker_volume_quote,
       coalesce(sum(notional_quote::DECIMAL(38, 12)) FILTER (WHERE kind = 'sweep'), 0)::DOUBLE AS sweep_volume_quote,
       sum(notional_quote::DECIMAL(38, 12))::DOUBLE AS total_volume_quote,
       coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS taker_volume_usd,
       coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'sweep'), 0)::DOUBLE AS sweep_volume_usd,
       sum(notional_usd::DECIMAL(38, 12))::DOUBLE AS total_volume_usd,
       any_value(usd_method) AS usd_method,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS unique_traders,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND hour = f.first_hour) AS new_traders
FROM fact_trades LEFT JOIN first_seen f USING (trader)
GROUP BY ALL;

-- Hourly per quote token and protocol-wide (USD) roll-ups of mart_volume_hourly.
CREATE OR REPLACE VIEW mart_volume_hourly_by_quote AS
SELECT hour, quote_symbol, sum(trades) AS trades, sum(taker_volume_quote) AS taker_volume_quote,
       sum(sweep_volume_quote) AS sweep_volume_quote, sum(taker_volume_usd) AS taker_volume_usd,
       sum(total_volume_usd) AS total_volume_usd
FROM mart_volume_hourly GROUP BY ALL;

CREATE OR REPLACE VIEW mart_volume_hourly_protocol AS
SELECT hour, sum(trades) AS trades, sum(sweeps) AS sweeps, sum(taker_volume_usd) AS taker_volume_usd,
       sum(sweep_volume_usd) AS sweep_volume_usd, sum(total_volume_usd) AS total_volume_usd
FROM mart_volume_hourly GROUP BY ALL;

-- Daily per instrument, daily per quote token, and daily protocol-wide (USD) roll-ups of the same facts.
-- incremental: day
CREATE OR REPLACE TABLE mart_volume_daily AS
-- exact by day as mart_volume_hourly is by hour (a day's rows and each trader's first day over all history)
WITH first_seen AS (SELECT trader, min(day) AS first_day FROM fact_trades WHERE kind = 'trade' GROUP BY 1)
SELECT day, instrument, symbol, quote_symbol,
       count(*) FILTER (WHERE kind = 'trade') AS trades, count(*) FILTER (WHERE kind = 'sweep') AS sweeps,
       coalesce(sum(notional_quote::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS taker_volume_quote,
       coalesce(sum(notional_quote::DECIMAL(38, 12)) FILTER (WHERE kind = 'sweep'), 0)::DOUBLE AS sweep_volume_quote,
       sum(notional_quote::DECIMAL(38, 12))::DOUBLE AS total_volume_quote,
       coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS taker_volume_usd,
       sum(notional_usd::DECIMAL(38, 12))::DOUBLE AS total_volume_usd,
       string_agg(DISTINCT usd_method, ', ' ORDER BY usd_method) AS usd_method,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS unique_traders,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND day = f.first_day) AS new_traders
FROM fact_trades LEFT JOIN first_seen f USING (trader)
GROUP BY ALL;

-- incremental: day
CREATE OR REPLACE TABLE mart_volume_daily_by_quote AS
-- exact: a day's rows sum mart_volume_daily rows of that day
SELECT day, quote_symbol, sum(trades) AS trades,
       sum(taker_volume_quote::DECIMAL(38, 12))::DOUBLE AS taker_volume_quote,
       sum(sweep_volume_quote::DECIMAL(38, 12))::DOUBLE AS sweep_volume_quote,
       sum(taker_volume_usd::DECIMAL(38, 12))::DOUBLE AS taker_volume_usd,
       sum(total_volume_usd::DECIMAL(38, 12))::DOUBLE AS total_volume_usd
FROM mart_volume_daily GROUP BY ALL;

-- incremental: day
CREATE OR REPLACE TABLE mart_volume_daily_protocol AS
-- exact: a day's row reads fact_trades rows of that day
SELECT day, count(*) FILTER (WHERE kind = 'trade') AS trades,
       coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'trade'), 0)::DOUBLE AS taker_volume_usd,
       coalesce(sum(notional_usd::DECIMAL(38, 12)) FILTER (WHERE kind = 'sweep'), 0)::DOUBLE AS sweep_volume_usd,
       sum(notional_usd::DECIMAL(38, 12))::DOUBLE AS total_volume_usd,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS unique_traders
FROM fact_trades GROUP BY ALL;
