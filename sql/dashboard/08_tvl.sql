-- title: TVL per pair (USD)
-- chart: line
-- x: hour
-- series: symbol
-- y: tvl_usd
SELECT hour, symbol, round(tvl_usd, 2) AS tvl_usd, round(lp_margin_quote, 2) AS lp_margin,
       round(trader_margin_quote, 2) AS trader_margin, round(insurance_fund_quote, 4) AS insurance_fund
FROM mart_tvl_hourly WHERE expiry = 4294967295 ORDER BY hour, symbol;
