-- Market share (method v1).
-- mart_instrument_share_daily: each instrument's share of the protocol's taker volume (USD) that day.
-- incremental: day
--   Exact: the window is one day (PARTITION BY day) of mart_volume_daily.
CREATE OR REPLACE TABLE mart_instrument_share_daily AS
SELECT day, instrument, symbol, taker_volume_usd,
       taker_volume_usd / nullif(sum(taker_volume_usd::DECIMAL(38, 12)) OVER (PARTITION BY day)::DOUBLE, 0)
           AS share_of_protocol
FROM mart_volume_daily;

-- mart_book_vs_amm_daily: the share of taker notional filled by resting limit orders (Trade.takenValue)
-- against the AMM curve (entryNotional - takenValue), per instrument and day.
-- incremental: day
--   Exact: a day's rows read fact_trades rows of that day only.
CREATE OR REPLACE TABLE mart_book_vs_amm_daily AS
SELECT day, instrument, symbol, sum(taken_value_wad)::DOUBLE / 1e18 AS book_notional_quote,
       sum(notional_wad - taken_value_wad)::DOUBLE / 1e18 AS amm_notional_quote,
       sum(taken_value_wad)::DOUBLE / nullif(sum(notional_wad)::DOUBLE, 0) AS book_share,
       sum(notional_wad - taken_value_wad)::DOUBLE / nullif(sum(notional_wad)::DOUBLE, 0) AS amm_share
FROM fact_trades WHERE kind = 'trade' GROUP BY ALL;

-- mart_lp_concentration_daily: per instrument and day, how concentrated LP liquidity (ranges open at the end
-- of the day, by owner) and LP fees (fees realised that day by removals and withdrawals, by owner) are:
-- the top-10 owners' share and the Herfindahl-Hirschman index (Σ share², 0..1; 1 = one owner).
CREATE OR REPLACE VIEW mart_lp_concentration_daily AS
WITH days AS (SELECT DISTINCT day FROM fact_trades),
liq AS (
    SELECT d.day, r.instrument, r.owner, sum(r.liquidity::DOUBLE) AS amount
    FROM days d JOIN lp_ranges r
      ON to_timestamp(r.added_ts) < d.day + INTERVAL 1 DAY
     AND (r.removed_ts IS NULL OR to_timestamp(r.removed_ts) >= d.day + INTERVAL 1 DAY)
    GROUP BY ALL
),
fee AS (
    SELECT date_trunc('day', to_timestamp(coalesce(removed_ts, added_ts))) AS day, instrument, owner,
           sum(coalesce(fee_at_removal::DOUBLE, 0) + fees_withdrawn::DOUBLE) AS amount
    FROM lp_ranges GROUP BY ALL
),
shares AS (
    SELECT 'liquidity' AS measure, day, instrument, owner, amount FROM liq
    UNION ALL SELECT 'fees', day, instrument, owner, amount FROM fee WHERE amount > 0
),
ranked AS (
    SELECT *, amount / sum(amount) OVER p AS share, row_number() OVER (PARTITION BY measure, day, instrument
                                                                       ORDER BY amount DESC) AS rank
    FROM shares WINDOW p AS (PARTITION BY measure, day, instrument)
)
SELECT day, instrument, i.symbol, measure, count(*) AS owners, sum(share) FILTER (WHERE rank <= 10) AS top10_share,
       sum(share * share) AS hhi
FROM ranked JOIN dim_instruments i USING (instrument) GROUP BY ALL;
