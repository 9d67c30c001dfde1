-- title: Fees per day: what takers paid and where it went (quote units)
-- chart: table
SELECT day::DATE AS day, symbol, quote_symbol, round(taker_fee_quote, 4) AS taker_fee,
       round(maker_rebate_quote, 4) AS maker_rebates, round(lp_fee_quote, 4) AS lp_fees,
       round(protocol_fee_quote, 4) AS protocol_fees, round(taker_fee_usd, 2) AS taker_fee_usd
FROM mart_fees_daily ORDER BY day, symbol;
