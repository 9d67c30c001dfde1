-- title: TVL per pair, the dated future included
-- section: Liquidity
-- chart: area
-- stack: yes
-- x: hour
-- series: pair
-- y: tvl_usd
-- unit: usd
-- x_name: hour (UTC)
-- y_name: USD locked
-- note: involvedFund of every pair (LP margin, order margin, trader margin, insurance fund), in USD: DefiLlama's
-- note: TVL, by pair. A dated future's pair is named with its expiry.
SELECT hour, symbol,
       CASE WHEN expiry = 4294967295 THEN symbol ELSE symbol || ' ' || strftime(to_timestamp(expiry), '%Y-%m-%d') END
           AS pair,
       tvl_usd, tvl_quote, lp_margin_quote, order_margin_quote, trader_margin_quote, insurance_fund_quote, usd_method
FROM mart_tvl_hourly WHERE tvl_usd IS NOT NULL ORDER BY hour, symbol, expiry;
