-- State rebuilt by replaying the events through models/ (the `replay` asset).  Amounts and prices are exact:
-- HUGEINT in WAD (1e18) or Q64.96 units as on chain (a value beyond int128 fails the write, never wraps);
-- columns ending in _f are DOUBLE conveniences in human units.  (block_number, tx_index, log_index) locate
-- the event that produced a row.

-- The pair's AMM after every event that moves its price or liquidity, and at every hour boundary (kind='hour').
CREATE TABLE IF NOT EXISTS amm_snapshots (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, kind VARCHAR NOT NULL,   -- 'event' | 'hour'
    block_number BIGINT NOT NULL, tx_index BIGINT, log_index BIGINT, ts BIGINT NOT NULL,
    status BIGINT, tick BIGINT, sqrt_px96 VARCHAR, fair_price_f DOUBLE, mark_f DOUBLE,
    liquidity HUGEINT, total_liquidity HUGEINT, total_long HUGEINT, total_short HUGEINT,
    open_interests HUGEINT, involved_fund HUGEINT, fee_index HUGEINT, protocol_fee HUGEINT,
    long_funding_index HUGEINT, short_funding_index HUGEINT, long_social_loss_index HUGEINT,
    short_social_loss_index HUGEINT, insurance_fund HUGEINT, settlement_price HUGEINT
);

-- Every initialised tick of every pair at each hour: curve liquidity and the resting order book (pearl.left).
CREATE TABLE IF NOT EXISTS pearl_snapshots (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, ts BIGINT NOT NULL, block_number BIGINT NOT NULL,
    tick BIGINT NOT NULL, price_f DOUBLE, liquidity_gross HUGEINT, liquidity_net HUGEINT,
    resting_size HUGEINT,   -- signed base WAD: + bids, - asks
    nonce BIGINT
);

-- One row per LP range (key: instrument, expiry, owner, tick_lower, tick_upper, added block/log).
CREATE TABLE IF NOT EXISTS lp_ranges (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, owner VARCHAR NOT NULL,
    tick_lower BIGINT NOT NULL, tick_upper BIGINT NOT NULL,
    liquidity HUGEINT, margin HUGEINT, entry_sqrt_px96 VARCHAR, entry_price_f DOUBLE, entry_fee_index HUGEINT,
    added_block BIGINT, added_log_index BIGINT, added_ts BIGINT,
    status VARCHAR,                 -- OPEN | REMOVED
    fees_withdrawn HUGEINT,         -- claimed with WithdrawRangeFee while open
    fee_at_removal HUGEINT,         -- Remove.fee
    removed_block BIGINT, removed_ts BIGINT, removed_by VARCHAR, tip HUGEINT,
    removal_size HUGEINT, removal_balance HUGEINT,   -- the position the range turned into
    out_of_range_since BIGINT       -- block it last left its range (NULL while in range)
);

-- Value and implied net position of every open range at each hour.
CREATE TABLE IF NOT EXISTS range_history (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, owner VARCHAR NOT NULL,
    tick_lower BIGINT NOT NULL, tick_upper BIGINT NOT NULL, ts BIGINT NOT NULL, block_number BIGINT NOT NULL,
    in_range BOOLEAN, net_size HUGEINT, pnl HUGEINT, fee HUGEINT, value HUGEINT, price_f DOUBLE
);

-- Limit orders: placed, partly or fully filled, cancelled.
CREATE TABLE IF NOT EXISTS orders (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, trader VARCHAR NOT NULL, tick BIGINT NOT NULL,
    nonce BIGINT NOT NULL, size HUGEINT, balance HUGEINT, placed_block BIGINT, placed_log_index BIGINT,
    placed_ts BIGINT,
    status VARCHAR,                 -- OPEN | FILLED | CANCELLED | PARTIAL_CANCELLED
    filled_size HUGEINT, fee HUGEINT, closed_block BIGINT, closed_ts BIGINT
);

-- Every change of a trader's position (UpdatePosition is authoritative).
CREATE TABLE IF NOT EXISTS positions (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, trader VARCHAR NOT NULL,
    block_number BIGINT NOT NULL, tx_index BIGINT, log_index BIGINT NOT NULL, ts BIGINT,
    balance HUGEINT, size HUGEINT, entry_notional HUGEINT, entry_social_loss_index HUGEINT,
    entry_funding_index HUGEINT
);

-- Fills, labelled like the SynFutures subgraph's virtual trades:
--   MARKET (a taker's trade), LIMIT (a resting order taken, at the trade that took it), RANGE (a range turned
--   into a position), LIQUIDATION (a sweep against the AMM), TAKE_OVER (a liquidator taking a position over).
CREATE TABLE IF NOT EXISTS fills (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, trader VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    block_number BIGINT NOT NULL, tx_index BIGINT, log_index BIGINT NOT NULL, ts BIGINT,
    size HUGEINT,                   -- signed base WAD from this trader's side
    notional HUGEINT, fee HUGEINT,
    taken_size HUGEINT, curve_size HUGEINT,          -- MARKET/LIQUIDATION: orders vs curve (magnitudes)
    maker_fee HUGEINT, lp_fee HUGEINT, protocol_fee HUGEINT,  -- MARKET/LIQUIDATION: the exact split of `fee`
    tick BIGINT, nonce BIGINT,                       -- LIMIT: the order's tick and epoch
    counterparty VARCHAR, price_f DOUBLE
);

-- Depth at each hour: base and quote a taker needs to move the price by `bps` up or down (curve + orders).
CREATE TABLE IF NOT EXISTS depth_snapshots (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, ts BIGINT NOT NULL, block_number BIGINT NOT NULL,
    side VARCHAR NOT NULL,          -- 'up' (buying) | 'down' (selling)
    bps BIGINT NOT NULL, base HUGEINT, quote HUGEINT
);

-- Book and margin at each hour: best resting bid/ask, and where the pair's quote sits.
CREATE TABLE IF NOT EXISTS pair_hourly (
    instrument VARCHAR NOT NULL, expiry BIGINT NOT NULL, ts BIGINT NOT NULL, block_number BIGINT NOT NULL,
    fair_price_f DOUBLE, mark_f DOUBLE, best_bid_f DOUBLE, best_ask_f DOUBLE,
    lp_margin HUGEINT,              -- balances of open ranges
    order_margin HUGEINT,           -- balances of open orders
    trader_margin HUGEINT,          -- balances of positions
    insurance_fund HUGEINT, involved_fund HUGEINT
);

-- Funding indices of each perpetual after every update.
CREATE TABLE IF NOT EXISTS funding_index_series (
    instrument VARCHAR NOT NULL, block_number BIGINT NOT NULL, log_index BIGINT NOT NULL, ts BIGINT NOT NULL,
    long_funding_index HUGEINT, short_funding_index HUGEINT, fair_price_f DOUBLE, mark_f DOUBLE,
    total_long HUGEINT, total_short HUGEINT
);

-- Every value the chain reported that the replay computed differently (never hidden), with its size and class
-- (models/divergence.py).  field '*' is a whole event: expected names it and actual says "not emitted", or
-- expected is "no such event expected" / "engine accepts" and actual the event or the engine's refusal.
CREATE TABLE IF NOT EXISTS replay_divergences (
    block_number BIGINT NOT NULL, tx_index BIGINT, log_index BIGINT, instrument VARCHAR, event VARCHAR,
    field VARCHAR, expected VARCHAR, actual VARCHAR
);
-- Added by the divergence policy.  ADD COLUMN IF NOT EXISTS: a warehouse created before it gets them here, on
-- the next writer's open, with one column order for new and old files; the replay asset then classifies the
-- rows that have none (pipelines/state/replay_run.py).  A row whose class is NULL counts as structural.
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS ts BIGINT;              -- the block's timestamp
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS class VARCHAR;          -- 'rounding' | 'structural'
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS reason VARCHAR;         -- why this class
-- actual - expected and its magnitude, in the field's own integer units (wei for amounts), as exact decimal
-- text: the values are uint256 and a difference may not fit a HUGEINT.  NULL when either side is not a number.
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS diff_wei VARCHAR;
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS abs_diff_wei VARCHAR;
-- |diff| / max(|expected|, |actual|, 1)
ALTER TABLE replay_divergences ADD COLUMN IF NOT EXISTS rel_diff DOUBLE;

-- Replay checkpoints: the state after the last applied event, so a run continues instead of restarting.
CREATE TABLE IF NOT EXISTS replay_checkpoints (
    cursor_block BIGINT NOT NULL, cursor_tx BIGINT NOT NULL, cursor_log BIGINT NOT NULL,
    last_ts BIGINT, events_applied BIGINT, state BLOB NOT NULL, created_at TIMESTAMP DEFAULT current_timestamp
);
