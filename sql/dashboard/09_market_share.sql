-- title: Market share: instruments, limit orders vs AMM, LP concentration
-- chart: table
SELECT s.day::DATE AS day, s.symbol, round(s.share_of_protocol, 4) AS share_of_protocol,
       round(b.book_share, 4) AS limit_order_share, round(b.amm_share, 4) AS amm_share,
       round(c.top10_share, 4) AS lp_top10_share, round(c.hhi, 4) AS lp_hhi
FROM mart_instrument_share_daily s
LEFT JOIN mart_book_vs_amm_daily b USING (day, instrument)
LEFT JOIN mart_lp_concentration_daily c ON c.day = s.day AND c.instrument = s.instrument AND c.measure = 'liquidity'
ORDER BY day, symbol;
