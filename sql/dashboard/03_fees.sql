-- title: Fees per day: what takers paid
-- section: Fees
-- chart: bar
-- stack: yes
-- x: day
-- series: symbol
-- y: taker_fee_usd
-- unit: usd
-- x_name: day (UTC)
-- y_name: USD per day
-- note: Taker fees (trades and sweeps) and where they went: maker rebates, LP fees, protocol fees (exact split
-- note: from the replay; maker + LP + protocol = taker). USD at the quote's price of the trade's hour.
SELECT day::DATE AS day, symbol, taker_fee_usd, lp_fee_usd, protocol_fee_usd,
       taker_fee_usd - lp_fee_usd - protocol_fee_usd AS maker_rebate_usd, quote_symbol,
       taker_fee_quote, maker_rebate_quote, lp_fee_quote, protocol_fee_quote
FROM mart_fees_daily ORDER BY day, symbol;
