-- LP performance audits (pipelines/lp_audit.py), one audit_id per run of the CLI or the `lp_audit` asset.
-- Quote amounts in quote units (DOUBLE, from exact WAD values); see the report's method notes.
CREATE TABLE IF NOT EXISTS lp_audit_ranges (
    audit_id VARCHAR NOT NULL, created_at TIMESTAMP DEFAULT current_timestamp,
    instrument VARCHAR, symbol VARCHAR, expiry BIGINT, owner VARCHAR, tick_lower BIGINT, tick_upper BIGINT,
    added_block BIGINT, status VARCHAR, margin_quote DOUBLE, hours_open DOUBLE,
    fees_quote DOUBLE,                 -- exact: fee-index accounting (Remove.fee + WithdrawRangeFee), or accrued
    impermanent_loss_quote DOUBLE,     -- value of the range's holdings minus holding its entry inventory (<= 0)
    pnl_vs_hold_quote DOUBLE,          -- impermanent loss + fees
    implied_position_pnl_quote DOUBLE, -- Σ hourly net position x next hour's price change
    lvr_quote DOUBLE,                  -- implied position PnL - impermanent loss (loss to rebalancing, hourly)
    markout_1h_quote DOUBLE,           -- Σ hourly change of net position x price change over the next hour
    time_in_range DOUBLE,              -- share of hourly snapshots inside the range
    apr DOUBLE,                        -- fees / margin, annualised over the hours open
    twa_abs_net_quote DOUBLE,          -- time-weighted |net position| x price
    twa_abs_net_over_margin DOUBLE,    -- the same as a share of margin: how neutral it stayed
    inventory_hold_hours DOUBLE        -- mean hours the net position keeps one sign before it is offset
);

CREATE TABLE IF NOT EXISTS lp_audit_series (
    audit_id VARCHAR NOT NULL, instrument VARCHAR, owner VARCHAR, tick_lower BIGINT, tick_upper BIGINT,
    added_block BIGINT, ts BIGINT, price DOUBLE, net_size DOUBLE, value_quote DOUBLE, fee_quote DOUBLE,
    in_range BOOLEAN
);
