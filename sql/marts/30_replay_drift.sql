-- mart_replay_drift_daily (method v1): the replay's rounding drift, per UTC day, instrument, event and field.
--   A rounding divergence is a numeric amount, index or price the chain reported within 4 wei of what the
--   replay computed (models/divergence.py states the tolerance and why); it does not block the pipeline, and is
--   counted here so that a rounding rule of the model that is not yet the contract's stays visible with its trend.
--   Structural divergences (a missing or unexpected event, a wrong tick or address, anything beyond 4 wei) are
--   not in this mart: they fail the blocking check replay_has_no_divergences; all rows are in replay_divergences.
--   divergences: rows; chain_higher / chain_lower: rows where the chain's value is above / below the replay's;
--   max_abs_wei, sum_abs_wei: |actual - expected| in the field's integer units (wei for WAD amounts);
--   net_wei: Σ (actual - expected), whose sign, if steady, names the rounding direction to fix;
--   max_rel_diff: max |diff| / max(|expected|, |actual|, 1); first_block / last_block: where it happened.
--   Rebuilt in full every run (not incremental): replay_divergences holds a handful of rows, and the replay
--   reclassifies rows of any age when it migrates an older warehouse (classify_legacy_divergences).
CREATE OR REPLACE TABLE mart_replay_drift_daily AS
SELECT to_timestamp(d.ts)::DATE AS day, d.instrument, i.symbol, d.event, d.field,
       count(*) AS divergences,
       count(*) FILTER (WHERE d.diff_wei::HUGEINT > 0) AS chain_higher,
       count(*) FILTER (WHERE d.diff_wei::HUGEINT < 0) AS chain_lower,
       max(d.abs_diff_wei::HUGEINT) AS max_abs_wei,
       sum(d.abs_diff_wei::HUGEINT)::HUGEINT AS sum_abs_wei,
       sum(d.diff_wei::HUGEINT)::HUGEINT AS net_wei,
       max(d.rel_diff) AS max_rel_diff,
       min(d.block_number) AS first_block, max(d.block_number) AS last_block
FROM replay_divergences d LEFT JOIN dim_instruments i USING (instrument)
WHERE d.class = 'rounding'
GROUP BY ALL
ORDER BY day, d.instrument, d.event, d.field;
