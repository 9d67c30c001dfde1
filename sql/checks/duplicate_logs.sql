-- A log lands once: (block_number, log_index) is unique in raw_logs.  Scope: blocks >= $from_block (-1: all);
-- both copies of a duplicate share its block.
SELECT block_number, log_index, count(*) AS n FROM raw_logs WHERE block_number >= $from_block
GROUP BY ALL HAVING count(*) > 1;
