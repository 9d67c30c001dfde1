-- One typed table per protocol event (docs/protocol-rules.md), generated from models/events.py by
-- `python -m pipelines.cli schema`; a test keeps this file equal to the generator.
-- Integers: BIGINT up to 63 bits, HUGEINT up to int128/uint127, VARCHAR decimal text beyond (uint128+, int256).
-- No primary key: a block range is deleted and inserted in one transaction, so (block_number, log_index) is
-- unique by construction, and the blocking check `logs_decoded_once` proves it (an index cost ~30% of ingest).

CREATE TABLE IF NOT EXISTS events_add (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    tick_lower BIGINT,
    tick_upper BIGINT,
    range_liquidity VARCHAR,
    range_entry_fee_index VARCHAR,
    range_balance HUGEINT,
    range_sqrt_entry_px96 VARCHAR
);

CREATE TABLE IF NOT EXISTS events_adjust (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    net VARCHAR
);

CREATE TABLE IF NOT EXISTS events_blacklist (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    trader VARCHAR,
    banned BOOLEAN
);

CREATE TABLE IF NOT EXISTS events_cancel (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    tick BIGINT,
    nonce BIGINT,
    fee VARCHAR,
    pic_balance VARCHAR,
    pic_size VARCHAR,
    pic_entry_notional VARCHAR,
    pic_entry_social_loss_index VARCHAR,
    pic_entry_funding_index VARCHAR
);

CREATE TABLE IF NOT EXISTS events_claim_protocol_fee (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    amount VARCHAR
);

CREATE TABLE IF NOT EXISTS events_clear_states (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    instrument VARCHAR,
    expiry BIGINT
);

CREATE TABLE IF NOT EXISTS events_delete_context (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT
);

CREATE TABLE IF NOT EXISTS events_deposit (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    trader VARCHAR,
    quantity VARCHAR
);

CREATE TABLE IF NOT EXISTS events_disable_liquidator_whitelist (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR
);

CREATE TABLE IF NOT EXISTS events_disable_lp_whitelist (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR
);

CREATE TABLE IF NOT EXISTS events_donate_insurance_fund (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    donator VARCHAR,
    amount VARCHAR
);

CREATE TABLE IF NOT EXISTS events_enable_lp_whitelist_for_quote (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    restricted BOOLEAN
);

CREATE TABLE IF NOT EXISTS events_fill (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    tick BIGINT,
    nonce BIGINT,
    fee VARCHAR,
    pic_balance VARCHAR,
    pic_size VARCHAR,
    pic_entry_notional VARCHAR,
    pic_entry_social_loss_index VARCHAR,
    pic_entry_funding_index VARCHAR,
    operator VARCHAR,
    tip VARCHAR
);

CREATE TABLE IF NOT EXISTS events_funding_fee (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    trader VARCHAR,
    funding VARCHAR
);

CREATE TABLE IF NOT EXISTS events_gather (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    trader VARCHAR,
    instrument VARCHAR,
    expiry BIGINT,
    quantity VARCHAR
);

CREATE TABLE IF NOT EXISTS events_liquidate (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    amount VARCHAR,
    mark VARCHAR,
    target VARCHAR,
    size VARCHAR
);

CREATE TABLE IF NOT EXISTS events_new_instrument (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    index VARCHAR,
    instrument VARCHAR,
    base VARCHAR,
    quote VARCHAR,
    symbol VARCHAR,
    total VARCHAR
);

CREATE TABLE IF NOT EXISTS events_place (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    tick BIGINT,
    nonce BIGINT,
    order_balance VARCHAR,
    order_size HUGEINT
);

CREATE TABLE IF NOT EXISTS events_recycle_insurance_fund (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    amount VARCHAR
);

CREATE TABLE IF NOT EXISTS events_remove (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    tick_lower BIGINT,
    tick_upper BIGINT,
    fee VARCHAR,
    pic_balance VARCHAR,
    pic_size VARCHAR,
    pic_entry_notional VARCHAR,
    pic_entry_social_loss_index VARCHAR,
    pic_entry_funding_index VARCHAR,
    operator VARCHAR,
    tip VARCHAR
);

CREATE TABLE IF NOT EXISTS events_scatter (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    trader VARCHAR,
    instrument VARCHAR,
    expiry BIGINT,
    quantity VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_blast_points_address (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    addr VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_blast_points_operator (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    operator VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_compact_ema_param (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    compact_param VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_feeder (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    instrument VARCHAR,
    feeder_ftype BIGINT,
    feeder_scaler0 HUGEINT,
    feeder_aggregator0 VARCHAR,
    feeder_heart_beat0 BIGINT,
    feeder_scaler1 HUGEINT,
    feeder_aggregator1 VARCHAR,
    feeder_heart_beat1 BIGINT,
    feeder_is_token0_quote BOOLEAN,
    feeder_pair VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_liquidator_whitelist (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    user VARCHAR,
    authorized BOOLEAN
);

CREATE TABLE IF NOT EXISTS events_set_lp_whitelist (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    user VARCHAR,
    authorized BOOLEAN
);

CREATE TABLE IF NOT EXISTS events_set_lp_whitelist_for_quote (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    user VARCHAR,
    authorized BOOLEAN
);

CREATE TABLE IF NOT EXISTS events_set_market_info (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    mtype VARCHAR,
    market VARCHAR,
    beacon VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_pending_duration (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    duration VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_quote_param (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    param_min_margin_amount VARCHAR,
    param_trading_fee_ratio BIGINT,
    param_protocol_fee_ratio BIGINT,
    param_stability_fee_ratio_param HUGEINT,
    param_qtype BIGINT,
    param_tip VARCHAR
);

CREATE TABLE IF NOT EXISTS events_set_threshold (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    threshold VARCHAR
);

CREATE TABLE IF NOT EXISTS events_settle (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    settlement VARCHAR,
    balance VARCHAR,
    operator VARCHAR
);

CREATE TABLE IF NOT EXISTS events_sweep (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    size VARCHAR,
    taken_size VARCHAR,
    taken_value VARCHAR,
    entry_notional VARCHAR,
    fee_ratio BIGINT,
    sqrt_px96 VARCHAR,
    mark VARCHAR,
    operator VARCHAR
);

CREATE TABLE IF NOT EXISTS events_trade (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    size VARCHAR,
    amount VARCHAR,
    taken_size VARCHAR,
    taken_value VARCHAR,
    entry_notional VARCHAR,
    fee_ratio BIGINT,
    sqrt_px96 VARCHAR,
    mark VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_acc_state (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    instrument VARCHAR,
    expiry BIGINT,
    state_time BIGINT,
    state_init_mark VARCHAR,
    state_accumulation VARCHAR,
    state_init_time BIGINT,
    state_spot VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_amm_status (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    status BIGINT,
    sqrt_px96 VARCHAR,
    mark VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_condition (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    timestamp BIGINT,
    condition BIGINT
);

CREATE TABLE IF NOT EXISTS events_update_ema_param (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    instrument VARCHAR,
    param_ema_half_time BIGINT,
    param_max_time_delta BIGINT,
    param_max_raw_time_delta BIGINT,
    param_max_change_ratio_per_second BIGINT
);

CREATE TABLE IF NOT EXISTS events_update_fee_state (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    fee_index VARCHAR,
    protocol_fee VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_funding_hour (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    funding_hour BIGINT
);

CREATE TABLE IF NOT EXISTS events_update_funding_index (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    funding_index VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_margin_ratio (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    initial_margin_ratio BIGINT,
    maintenance_margin_ratio BIGINT
);

CREATE TABLE IF NOT EXISTS events_update_param (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    param_min_margin_amount VARCHAR,
    param_trading_fee_ratio BIGINT,
    param_protocol_fee_ratio BIGINT,
    param_stability_fee_ratio_param HUGEINT,
    param_qtype BIGINT,
    param_tip VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_pending (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    trader VARCHAR,
    pending_timestamp BIGINT,
    pending_native BOOLEAN,
    pending_amount HUGEINT,
    pending_exemption HUGEINT
);

CREATE TABLE IF NOT EXISTS events_update_position (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    pic_balance VARCHAR,
    pic_size VARCHAR,
    pic_entry_notional VARCHAR,
    pic_entry_social_loss_index VARCHAR,
    pic_entry_funding_index VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_social_loss_insurance_fund (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    long_social_loss_index VARCHAR,
    short_social_loss_index VARCHAR,
    insurance_fund VARCHAR
);

CREATE TABLE IF NOT EXISTS events_update_spot_state (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    instrument VARCHAR,
    state_time BIGINT,
    state_spot VARCHAR,
    state_raw VARCHAR
);

CREATE TABLE IF NOT EXISTS events_withdraw (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    quote VARCHAR,
    trader VARCHAR,
    quantity VARCHAR
);

CREATE TABLE IF NOT EXISTS events_withdraw_range_fee (
    block_number BIGINT NOT NULL,
    block_timestamp BIGINT,
    tx_index BIGINT,
    log_index BIGINT NOT NULL,
    tx_hash VARCHAR,
    address VARCHAR,
    abi_variant VARCHAR,
    expiry BIGINT,
    trader VARCHAR,
    rid BIGINT,
    fee VARCHAR,
    operator VARCHAR,
    range_liquidity VARCHAR,
    range_entry_fee_index VARCHAR,
    range_balance HUGEINT,
    range_sqrt_entry_px96 VARCHAR
);

-- Every decoded log with the table it went to (the checks use it).
CREATE OR REPLACE VIEW decoded_logs AS
SELECT block_number, log_index, 'events_add' AS event_table FROM events_add
UNION ALL SELECT block_number, log_index, 'events_adjust' AS event_table FROM events_adjust
UNION ALL SELECT block_number, log_index, 'events_blacklist' AS event_table FROM events_blacklist
UNION ALL SELECT block_number, log_index, 'events_cancel' AS event_table FROM events_cancel
UNION ALL SELECT block_number, log_index, 'events_claim_protocol_fee' AS event_table FROM events_claim_protocol_fee
UNION ALL SELECT block_number, log_index, 'events_clear_states' AS event_table FROM events_clear_states
UNION ALL SELECT block_number, log_index, 'events_delete_context' AS event_table FROM events_delete_context
UNION ALL SELECT block_number, log_index, 'events_deposit' AS event_table FROM events_deposit
UNION ALL SELECT block_number, log_index, 'events_disable_liquidator_whitelist' AS event_table FROM events_disable_liquidator_whitelist
UNION ALL SELECT block_number, log_index, 'events_disable_lp_whitelist' AS event_table FROM events_disable_lp_whitelist
UNION ALL SELECT block_number, log_index, 'events_donate_insurance_fund' AS event_table FROM events_donate_insurance_fund
UNION ALL SELECT block_number, log_index, 'events_enable_lp_whitelist_for_quote' AS event_table FROM events_enable_lp_whitelist_for_quote
UNION ALL SELECT block_number, log_index, 'events_fill' AS event_table FROM events_fill
UNION ALL SELECT block_number, log_index, 'events_funding_fee' AS event_table FROM events_funding_fee
UNION ALL SELECT block_number, log_index, 'events_gather' AS event_table FROM events_gather
UNION ALL SELECT block_number, log_index, 'events_liquidate' AS event_table FROM events_liquidate
UNION ALL SELECT block_number, log_index, 'events_new_instrument' AS event_table FROM events_new_instrument
UNION ALL SELECT block_number, log_index, 'events_place' AS event_table FROM events_place
UNION ALL SELECT block_number, log_index, 'events_recycle_insurance_fund' AS event_table FROM events_recycle_insurance_fund
UNION ALL SELECT block_number, log_index, 'events_remove' AS event_table FROM events_remove
UNION ALL SELECT block_number, log_index, 'events_scatter' AS event_table FROM events_scatter
UNION ALL SELECT block_number, log_index, 'events_set_blast_points_address' AS event_table FROM events_set_blast_points_address
UNION ALL SELECT block_number, log_index, 'events_set_blast_points_operator' AS event_table FROM events_set_blast_points_operator
UNION ALL SELECT block_number, log_index, 'events_set_compact_ema_param' AS event_table FROM events_set_compact_ema_param
UNION ALL SELECT block_number, log_index, 'events_set_feeder' AS event_table FROM events_set_feeder
UNION ALL SELECT block_number, log_index, 'events_set_liquidator_whitelist' AS event_table FROM events_set_liquidator_whitelist
UNION ALL SELECT block_number, log_index, 'events_set_lp_whitelist' AS event_table FROM events_set_lp_whitelist
UNION ALL SELECT block_number, log_index, 'events_set_lp_whitelist_for_quote' AS event_table FROM events_set_lp_whitelist_for_quote
UNION ALL SELECT block_number, log_index, 'events_set_market_info' AS event_table FROM events_set_market_info
UNION ALL SELECT block_number, log_index, 'events_set_pending_duration' AS event_table FROM events_set_pending_duration
UNION ALL SELECT block_number, log_index, 'events_set_quote_param' AS event_table FROM events_set_quote_param
UNION ALL SELECT block_number, log_index, 'events_set_threshold' AS event_table FROM events_set_threshold
UNION ALL SELECT block_number, log_index, 'events_settle' AS event_table FROM events_settle
UNION ALL SELECT block_number, log_index, 'events_sweep' AS event_table FROM events_sweep
UNION ALL SELECT block_number, log_index, 'events_trade' AS event_table FROM events_trade
UNION ALL SELECT block_number, log_index, 'events_update_acc_state' AS event_table FROM events_update_acc_state
UNION ALL SELECT block_number, log_index, 'events_update_amm_status' AS event_table FROM events_update_amm_status
UNION ALL SELECT block_number, log_index, 'events_update_condition' AS event_table FROM events_update_condition
UNION ALL SELECT block_number, log_index, 'events_update_ema_param' AS event_table FROM events_update_ema_param
UNION ALL SELECT block_number, log_index, 'events_update_fee_state' AS event_table FROM events_update_fee_state
UNION ALL SELECT block_number, log_index, 'events_update_funding_hour' AS event_table FROM events_update_funding_hour
UNION ALL SELECT block_number, log_index, 'events_update_funding_index' AS event_table FROM events_update_funding_index
UNION ALL SELECT block_number, log_index, 'events_update_margin_ratio' AS event_table FROM events_update_margin_ratio
UNION ALL SELECT block_number, log_index, 'events_update_param' AS event_table FROM events_update_param
UNION ALL SELECT block_number, log_index, 'events_update_pending' AS event_table FROM events_update_pending
UNION ALL SELECT block_number, log_index, 'events_update_position' AS event_table FROM events_update_position
UNION ALL SELECT block_number, log_index, 'events_update_social_loss_insurance_fund' AS event_table FROM events_update_social_loss_insurance_fund
UNION ALL SELECT block_number, log_index, 'events_update_spot_state' AS event_table FROM events_update_spot_state
UNION ALL SELECT block_number, log_index, 'events_withdraw' AS event_table FROM events_withdraw
UNION ALL SELECT block_number, log_index, 'events_withdraw_range_fee' AS event_table FROM events_withdraw_range_fee;
