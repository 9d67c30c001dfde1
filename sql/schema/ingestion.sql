-- Raw landing and ingestion bookkeeping.  Exact: block numbers BIGINT, hashes and hex data as VARCHAR.

-- Every log of the tracked contracts (Gate, Config, markets, every instrument), one row per (block, log index).
CREATE TABLE IF NOT EXISTS raw_logs (
    block_number    BIGINT  NOT NULL,
    block_timestamp BIGINT  NOT NULL,  -- unix seconds
    tx_index        BIGINT  NOT NULL,
    log_index       BIGINT  NOT NULL,
    tx_hash         VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,  -- lowercase hex
    block_hash      VARCHAR NOT NULL,
    topic0          VARCHAR,
    topic1          VARCHAR,
    topic2          VARCHAR,
    topic3          VARCHAR,
    -- 0x-prefixed hex; zstd instead of DuckDB's default string compression: 14% less CPU to write and 9 MB
    -- instead of 14 MB for 203k logs
    data            VARCHAR NOT NULL USING COMPRESSION zstd
);  -- (block_number, log_index) is unique by construction (ranges are replaced whole); check duplicate_logs

-- Logs that could not be decoded, with the reason; nothing is dropped.
CREATE TABLE IF NOT EXISTS quarantine (
    block_number    BIGINT  NOT NULL,
    block_timestamp BIGINT,
    tx_index        BIGINT,
    log_index       BIGINT  NOT NULL,
    tx_hash         VARCHAR,
    address         VARCHAR,
    block_hash      VARCHAR,
    topic0          VARCHAR,
    topic1          VARCHAR,
    topic2          VARCHAR,
    topic3          VARCHAR,
    data            VARCHAR,
    reason          VARCHAR NOT NULL
);

-- Block ranges landed in raw_logs (merged on read); a range is written in one transaction with its logs.
CREATE TABLE IF NOT EXISTS ingested_ranges (
    from_block  BIGINT NOT NULL,
    to_block    BIGINT NOT NULL,
    landed_at   TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (from_block)
);

-- Hashes of recent blocks (those with logs and each range's last block), for reorg detection.
CREATE TABLE IF NOT EXISTS block_hashes (
    block_number BIGINT PRIMARY KEY,
    block_hash   VARCHAR NOT NULL
);

-- One row per key: covered_to (raw landed up to), decoded_to (events_* decoded up to), head_hash.
CREATE TABLE IF NOT EXISTS ingestion_state (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Every reorg seen: the first block that changed and when it was repaired.
CREATE TABLE IF NOT EXISTS reorgs (
    first_changed_block BIGINT NOT NULL,
    old_hash            VARCHAR,
    new_hash            VARCHAR,
    repaired_at         TIMESTAMP DEFAULT current_timestamp
);

-- The instruments found in Gate's NewInstrument logs, with where their logs start.
CREATE TABLE IF NOT EXISTS instruments (
    address      VARCHAR PRIMARY KEY,
    symbol       VARCHAR,
    base         VARCHAR,
    quote        VARCHAR,
    first_block  BIGINT NOT NULL
);
