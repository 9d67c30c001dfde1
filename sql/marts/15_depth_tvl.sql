-- mart_depth_hourly (method v1): quote needed to move each pair's price by ±10/50/100/200 bps at each hour,
--   from the AMM curve and the resting orders in the way (the replay's read-only walk, models/depth.py), plus
--   the resting book's best bid/ask spread in bps of the fair price.
CREATE OR REPLACE VIEW mart_depth_hourly AS
SELECT to_timestamp(s.ts) AS hour, s.instrument, d.symbol, s.expiry, s.bps,
       max(s.quote::DOUBLE / 1e18) FILTER (WHERE side = 'up') AS quote_to_move_up,
       max(s.quote::DOUBLE / 1e18) FILTER (WHERE side = 'down') AS quote_to_move_down,
       max(s.base::DOUBLE / 1e18) FILTER (WHERE side = 'up') AS base_to_move_up,
       max(s.base::DOUBLE / 1e18) FILTER (WHERE side = 'down') AS base_to_move_down,
       any_value((h.best_ask_f - h.best_bid_f) / h.fair_price_f * 1e4) AS book_spread_bps
FROM depth_snapshots s JOIN dim_instruments d USING (instrument)
LEFT JOIN pair_hourly h USING (instrument, expiry, ts)
GROUP BY ALL;

-- mart_tvl_hourly (method v1): quote held per pair at each hour (involvedFund, from Gate Scatter/Gather),
--   split into LP margin (open ranges), order margin, trader margin (positions) and the insurance fund, in
--   quote and USD.  DefiLlama's TVL is the instruments' token balances: the sum of involved_fund.
CREATE OR REPLACE VIEW mart_tvl_hourly AS
SELECT to_timestamp(h.ts) AS hour, h.instrument, d.symbol, h.expiry,
       h.involved_fund::DOUBLE / 1e18 AS tvl_quote, h.lp_margin::DOUBLE / 1e18 AS lp_margin_quote,
       h.order_margin::DOUBLE / 1e18 AS order_margin_quote, h.trader_margin::DOUBLE / 1e18 AS trader_margin_quote,
       h.insurance_fund::DOUBLE / 1e18 AS insurance_fund_quote,
       h.involved_fund::DOUBLE / 1e18 * p.usd AS tvl_usd, p.method AS usd_method
FROM pair_hourly h JOIN dim_instruments d USING (instrument)
LEFT JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = to_timestamp(h.ts) - INTERVAL 1 HOUR;
