-- Every landed log (up to decoded_to) is decoded into exactly one events_<name> table or quarantined, and nothing
-- is decoded or quarantined that did not land: the log tables have no primary key, so this proves uniqueness.
-- Scope: blocks >= $from_block (-1: all); a log and its decoded copies share their block.
WITH done AS (
    SELECT coalesce(max(CAST(value AS BIGINT)), -1) AS b FROM ingestion_state WHERE key = 'decoded_to'
), landed AS (
    SELECT block_number, log_index FROM raw_logs
    WHERE block_number <= (SELECT b FROM done) AND block_number >= $from_block
), out AS (
    SELECT block_number, log_index, count(*) AS n
    FROM (SELECT block_number, log_index FROM decoded_logs WHERE block_number >= $from_block
          UNION ALL SELECT block_number, log_index FROM quarantine WHERE block_number >= $from_block)
    GROUP BY ALL
)
SELECT coalesce(l.block_number, o.block_number) AS block_number, coalesce(l.log_index, o.log_index) AS log_index,
       coalesce(o.n, 0) AS times_decoded, l.block_number IS NOT NULL AS landed
FROM landed l FULL OUTER JOIN out o ON l.block_number = o.block_number AND l.log_index = o.log_index
WHERE o.n IS DISTINCT FROM 1 OR l.block_number IS NULL
ORDER BY 1, 2;
