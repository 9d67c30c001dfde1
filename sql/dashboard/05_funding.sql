-- title: Funding rate, annualised (longs pay when positive)
-- section: Open interest and funding
-- chart: line
-- x: hour
-- series: symbol
-- y: rate_annualised
-- unit: pct
-- x_name: hour (UTC)
-- y_name: % per year
-- note: From UpdateFundingIndex: the change of the long index over the hour over mark, x 24 x 365. An
-- note: instrument's first hour is left out (its change starts from zero, not from a previous reading).
SELECT hour, symbol, rate_annualised, rate_hourly, paid_by_longs_quote, received_by_shorts_quote
FROM (SELECT *, row_number() OVER (PARTITION BY instrument ORDER BY hour) AS n FROM mart_funding_hourly)
WHERE rate_hourly IS NOT NULL AND n > 1 ORDER BY hour, symbol;
