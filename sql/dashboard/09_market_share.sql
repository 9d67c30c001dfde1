-- title: Maker vs AMM: share of taker volume filled by resting limit orders
-- section: Market structure
-- chart: bar
-- x: day
-- series: symbol
-- y: limit_order_share
-- unit: pct
-- x_name: day (UTC)
-- y_name: % filled by limit orders
-- note: Trade.takenValue (filled by resting orders) over entryNotional; the AMM curve filled the rest
-- note: (amm_share). Also each instrument's share of protocol volume and LP concentration (top-10 share, HHI).
SELECT s.day::DATE AS day, s.symbol, b.book_share AS limit_order_share, b.amm_share,
       s.share_of_protocol, c.top10_share AS lp_top10_share, c.hhi AS lp_hhi
FROM mart_instrument_share_daily s
LEFT JOIN mart_book_vs_amm_daily b USING (day, instrument)
LEFT JOIN mart_lp_concentration_daily c ON c.day = s.day AND c.instrument = s.instrument AND c.measure = 'liquidity'
ORDER BY day, symbol;
