-- dim_instruments (method v1): one row per instrument from Gate's NewInstrument, with its quote's type taken
-- from the instrument's own latest UpdateParam (qtype 1 = STABLE, 2 = NONSTABLE).
CREATE OR REPLACE VIEW dim_instruments AS
SELECT i.address AS instrument, i.symbol, split_part(i.symbol, '-', 1) AS base_symbol,
       split_part(i.symbol, '-', 2) AS quote_symbol, i.quote, coalesce(q.qtype, 1) AS quote_type, i.first_block
FROM instruments i
LEFT JOIN (SELECT address, arg_max(param_qtype, block_number * 100000 + log_index) AS qtype
           FROM events_update_param GROUP BY address) q ON q.address = i.address;
