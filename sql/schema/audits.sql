-- LP performance audits (pipelines/audits/lp_audit.py, pipelines/audits/), one audit_id per run of the CLI or the
-- `lp_audit` asset.  Every number is computed from the pair's event snapshots (amm_snapshots kind='event'),
-- exact between events; the report's "How to read this" section says what each one means.  Quote amounts are in
-- the pair's quote token (DOUBLE, from exact WAD values); prices in quote per base; *_usd at usd_per_quote.
CREATE TABLE IF NOT EXISTS lp_audit_ranges (
    audit_id VARCHAR NOT NULL, created_at TIMESTAMP DEFAULT current_timestamp,
    instrument VARCHAR, symbol VARCHAR, expiry BIGINT, owner VARCHAR, tick_lower BIGINT, tick_upper BIGINT,
    added_block BIGINT, status VARCHAR, margin_quote DOUBLE,
    hours_open DOUBLE,                 -- from the Add to the Remove (or to the end of the data while open)
    fees_quote DOUBLE,                 -- exact: fee-index accounting (Remove.fee + WithdrawRangeFee), or accrued
    impermanent_loss_quote DOUBLE,     -- value of the range's holdings minus holding its entry inventory
    pnl_vs_hold_quote DOUBLE,          -- impermanent loss + fees
    implied_position_pnl_quote DOUBLE, -- Σ over events: net position after an event x price change to the next
    lvr_quote DOUBLE,                  -- implied position PnL - impermanent loss (loss to rebalancing)
    markout_1h_quote DOUBLE,           -- Σ over events: change of net position x price change over the next hour
    time_in_range DOUBLE,              -- share of the time open spent inside the range (time-weighted, exact)
    apr DOUBLE,                        -- fees / margin per year (0.27 = 27%); NULL under 24 h open (apr_note)
    twa_abs_net_quote DOUBLE,          -- time-weighted |net position| x price
    twa_abs_net_over_margin DOUBLE,    -- the same as a share of margin: how neutral it stayed
    inventory_hold_hours DOUBLE        -- mean hours the net position keeps one sign before it is offset
);
-- Added with the event-level method (v2).  ADD COLUMN IF NOT EXISTS: an older warehouse gets them on open.
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS range_id VARCHAR;          -- <block>-<log index> of the Add
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS added_log_index BIGINT;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS added_ts BIGINT;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS end_ts BIGINT;             -- removal, or end of the data
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS quote_symbol VARCHAR;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS price_lower DOUBLE;        -- quote per base at tick_lower
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS price_upper DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS entry_price DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS last_price DOUBLE;         -- at removal, or now
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS time_in_range_hours DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS fee_return DOUBLE;         -- fees / margin, not annualised
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS pnl_vs_hold_return DOUBLE; -- (fees + IL) / margin
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS apr_note VARCHAR;          -- why apr is NULL
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS markout_fills BIGINT;      -- net-position changes marked out
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS markout_partial_fills BIGINT; -- of which the data ends < 1 h on
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS events BIGINT;             -- pair events in the range's life
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS reconciled BOOLEAN;        -- recomputed = Remove event (wei)
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS usd_per_quote DOUBLE;      -- at end_ts; NULL if unpriced
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS usd_method VARCHAR;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS margin_usd DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS fees_usd DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS impermanent_loss_usd DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS pnl_vs_hold_usd DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS lvr_usd DOUBLE;
ALTER TABLE lp_audit_ranges ADD COLUMN IF NOT EXISTS method_version VARCHAR;

-- The range after every pair event in its life (not hourly samples).
CREATE TABLE IF NOT EXISTS lp_audit_series (
    audit_id VARCHAR NOT NULL, instrument VARCHAR, owner VARCHAR, tick_lower BIGINT, tick_upper BIGINT,
    added_block BIGINT, ts BIGINT, price DOUBLE, net_size DOUBLE,
    value_quote DOUBLE,                -- margin + fees earned so far (withdrawn included) + impermanent loss
    fee_quote DOUBLE, in_range BOOLEAN
);
ALTER TABLE lp_audit_series ADD COLUMN IF NOT EXISTS block_number BIGINT;
ALTER TABLE lp_audit_series ADD COLUMN IF NOT EXISTS log_index BIGINT;
ALTER TABLE lp_audit_series ADD COLUMN IF NOT EXISTS tick BIGINT;
ALTER TABLE lp_audit_series ADD COLUMN IF NOT EXISTS pnl_quote DOUBLE;           -- impermanent loss so far
ALTER TABLE lp_audit_series ADD COLUMN IF NOT EXISTS hold_quote DOUBLE;          -- holding instead: the margin
