-- mart_quote_prices_hourly (method v1): the USD price of every quote token for every hour with activity.
--   STABLE quotes are worth 1 USD (method 'stable=1').
--   A NONSTABLE quote is priced from the protocol's own data: the last oracle index (UpdateSpotState.spot) at or
--   before the hour of a stable-quoted instrument whose base is that token (WETH ~ ETH), method
--   'oracle:<symbol>'.  A quote with no such instrument stays NULL with method 'unpriced'.
-- incremental: hour
--   Exact: an hour's rows read the trades and sweeps of that hour (the grid) and the oracle readings before its
--   end, all older than any row a change touches when the hour is before the watermark's; the quotes and their
--   types (dim_instruments) are in the signature: a change there rebuilds the table in full.
CREATE OR REPLACE TABLE mart_quote_prices_hourly AS
WITH hours AS (
    SELECT DISTINCT date_trunc('hour', to_timestamp(block_timestamp)) AS hour FROM events_trade
    UNION SELECT DISTINCT date_trunc('hour', to_timestamp(block_timestamp)) FROM events_sweep
),
quotes AS (SELECT DISTINCT quote, quote_symbol, quote_type FROM dim_instruments),
ref AS (
    SELECT q.quote, min(r.instrument) AS ref_instrument, min(r.symbol) AS ref_symbol
    FROM quotes q JOIN dim_instruments r
      ON r.quote_type = 1 AND (r.base_symbol = q.quote_symbol OR 'W' || r.base_symbol = q.quote_symbol)
    WHERE q.quote_type = 2
    GROUP BY q.quote
),
spot AS (
    SELECT instrument, to_timestamp(block_timestamp) AS t, state_spot::DOUBLE / 1e18 AS px
    FROM events_update_spot_state
),
grid AS (SELECT h.hour, q.quote, q.quote_type, r.ref_instrument, r.ref_symbol FROM hours h, quotes q
         LEFT JOIN ref r USING (quote))
SELECT g.hour, g.quote,
       CASE WHEN g.quote_type = 1 THEN 1.0 ELSE s.px END AS usd,
       CASE WHEN g.quote_type = 1 THEN 'stable=1'
            WHEN s.px IS NOT NULL THEN 'oracle:' || g.ref_symbol ELSE 'unpriced' END AS method
FROM grid g
ASOF LEFT JOIN spot s ON s.instrument = g.ref_instrument AND g.hour + INTERVAL 1 HOUR > s.t;
