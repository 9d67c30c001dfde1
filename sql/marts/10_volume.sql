-- mart_volume_hourly (method v1): per instrument and hour.
--   taker_volume = Σ entryNotional of Trade; sweep_volume = Σ entryNotional of Sweep, reported apart and in
--   total_volume (the subgraph counts sweeps, DefiLlama does not: both are here).  Quote units and USD.
--   unique_traders: distinct takers in the hour; new_traders: takers whose first trade on the protocol
--   (any instrument) falls in the hour.
CREATE OR REPLACE TABLE mart_volume_hourly AS
WITH first_seen AS (SELECT trader, min(hour) AS first_hour FROM fact_trades WHERE kind = 'trade' GROUP BY 1)
SELECT hour, instrument, symbol, quote, quote_symbol,
       count(*) FILTER (WHERE kind = 'trade') AS trades,
       count(*) FILTER (WHERE kind = 'sweep') AS sweeps,
       coalesce(sum(notional_wad) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_wad,
       coalesce(sum(notional_quote) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_quote,
       coalesce(sum(notional_quote) FILTER (WHERE kind = 'sweep'), 0) AS sweep_volume_quote,
       sum(notional_quote) AS total_volume_quote,
       coalesce(sum(notional_usd) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_usd,
       coalesce(sum(notional_usd) FILTER (WHERE kind = 'sweep'), 0) AS sweep_volume_usd,
       sum(notional_usd) AS total_volume_usd,
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
CREATE OR REPLACE TABLE mart_volume_daily AS
WITH first_seen AS (SELECT trader, min(day) AS first_day FROM fact_trades WHERE kind = 'trade' GROUP BY 1)
SELECT day, instrument, symbol, quote_symbol,
       count(*) FILTER (WHERE kind = 'trade') AS trades, count(*) FILTER (WHERE kind = 'sweep') AS sweeps,
       coalesce(sum(notional_quote) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_quote,
       coalesce(sum(notional_quote) FILTER (WHERE kind = 'sweep'), 0) AS sweep_volume_quote,
       sum(notional_quote) AS total_volume_quote,
       coalesce(sum(notional_usd) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_usd,
       sum(notional_usd) AS total_volume_usd, any_value(usd_method) AS usd_method,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS unique_traders,
       count(DISTINCT trader) FILTER (WHERE kind = 'trade' AND day = f.first_day) AS new_traders
FROM fact_trades LEFT JOIN first_seen f USING (trader)
GROUP BY ALL;

CREATE OR REPLACE TABLE mart_volume_daily_by_quote AS
SELECT day, quote_symbol, sum(trades) AS trades, sum(taker_volume_quote) AS taker_volume_quote,
       sum(sweep_volume_quote) AS sweep_volume_quote, sum(taker_volume_usd) AS taker_volume_usd,
       sum(total_volume_usd) AS total_volume_usd
FROM mart_volume_daily GROUP BY ALL;

CREATE OR REPLACE TABLE mart_volume_daily_protocol AS
SELECT day, count(*) FILTER (WHERE kind = 'trade') AS trades,
       coalesce(sum(notional_usd) FILTER (WHERE kind = 'trade'), 0) AS taker_volume_usd,
       coalesce(sum(notional_usd) FILTER (WHERE kind = 'sweep'), 0) AS sweep_volume_usd,
       sum(notional_usd) AS total_volume_usd, count(DISTINCT trader) FILTER (WHERE kind = 'trade') AS unique_traders
FROM fact_trades GROUP BY ALL;
