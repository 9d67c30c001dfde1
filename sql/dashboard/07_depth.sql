-- title: Depth: USD to move the price 50 bps, curve + book
-- section: Liquidity
-- chart: line
-- x: hour
-- series: symbol, side
-- y: depth_usd
-- unit: usd
-- x_name: hour (UTC)
-- y_name: USD for ±50 bps
-- note: Quote a taker needs to move each pair's price 50 bps up (buying) or down (selling), through the AMM curve
-- note: and the resting orders, converted to USD (WETH-quoted pairs at the WETH price), so pairs compare.
SELECT hour, symbol, side, depth_usd, depth_quote, quote_symbol, book_spread_bps
FROM (
    SELECT m.hour, m.symbol, s.side, d.quote_symbol,
           CASE s.side WHEN 'up' THEN m.quote_to_move_up ELSE m.quote_to_move_down END AS depth_quote,
           CASE s.side WHEN 'up' THEN m.quote_to_move_up ELSE m.quote_to_move_down END * p.usd AS depth_usd,
           m.book_spread_bps
    FROM mart_depth_hourly m JOIN dim_instruments d USING (instrument)
    JOIN mart_quote_prices_hourly p ON p.quote = d.quote AND p.hour = m.hour - INTERVAL 1 HOUR,
         (VALUES ('up'), ('down')) s(side)
    WHERE m.bps = 50
)
WHERE depth_usd IS NOT NULL ORDER BY hour, symbol, side;
