-- title: Depth: quote (in quote units) to move the price 50 bps up, curve + book
-- chart: line
-- x: hour
-- series: symbol
-- y: quote_to_move_up
SELECT hour, symbol, round(quote_to_move_up, 2) AS quote_to_move_up, round(quote_to_move_down, 2)
       AS quote_to_move_down, round(book_spread_bps, 1) AS book_spread_bps
FROM mart_depth_hourly WHERE bps = 50 ORDER BY hour, symbol;
