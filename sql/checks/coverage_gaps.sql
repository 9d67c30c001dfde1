-- Gaps in the landed block coverage: each row is a hole between two ingested ranges (should be none).
WITH r AS (
    SELECT from_block, to_block, lag(to_block) OVER (ORDER BY from_block) AS prev_to
    FROM ingested_ranges
    WHERE to_block >= from_block
)
SELECT prev_to + 1 AS gap_from, from_block - 1 AS gap_to
FROM r
WHERE prev_to IS NOT NULL AND from_block > prev_to + 1
ORDER BY gap_from;
