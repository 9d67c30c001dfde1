-- mart_liquidations_daily (method v1): per instrument and day.
--   take_overs: Liquidate events (a liquidator takes the position over at mark); sweeps: forced closes
--   against the AMM.  notional at the price used (mark for take-overs, entryNotional for sweeps), quote and USD;
--   liquidators: distinct accounts that took over or swept.
CREATE OR REPLACE VIEW mart_liquidations_daily AS
WITH l AS (
    SELECT address AS instrument, block_timestamp, trader AS liquidator, target,
           abs(size::HUGEINT)::DOUBLE * mark::DOUBLE / 1e36 AS notional_quote, 'take_over' AS kind
    FROM events_liquidate
    UNION ALL
    SELECT address, block_timestamp, operator, trader, entry_notional::DOUBLE / 1e18, 'sweep' FROM events_sweep
)
SELECT date_trunc('day', to_timestamp(l.block_timestamp)) AS day, l.instrument, d.symbol,
       count(*) FILTER (WHERE kind = 'take_over') AS take_overs, count(*) FILTER (WHERE kind = 'sweep') AS sweeps,
       sum(notional_quote) AS notional_quote, sum(notional_quote * p.usd) AS notional_usd,
       count(DISTINCT liquidator) AS liquidators, count(DISTINCT target) AS liquidated_accounts
FROM l JOIN dim_instruments d USING (instrument)
LEFT JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = date_trunc('hour', to_timestamp(l.block_timestamp))
GROUP BY ALL;
