-- title: Funding rate, annualised (longs pay when positive)
-- chart: line
-- x: hour
-- series: symbol
-- y: rate_annualised
SELECT hour, symbol, round(rate_annualised, 6) AS rate_annualised, round(paid_by_longs_quote, 6) AS paid_by_longs
FROM mart_funding_hourly WHERE rate_hourly IS NOT NULL ORDER BY hour, symbol;
