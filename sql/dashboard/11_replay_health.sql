-- title: Replay health: events replayed, divergences (structural block the pipeline; rounding drift is counted), blocks covered
-- section: Replay health
-- chart: table
SELECT (SELECT max(events_applied) FROM replay_checkpoints) AS events_replayed,
       (SELECT count(*) FROM replay_divergences) AS divergences,
       (SELECT count(*) FROM replay_divergences WHERE class IS DISTINCT FROM 'rounding') AS structural,
       (SELECT count(*) FROM replay_divergences WHERE class = 'rounding') AS rounding_drift,
       (SELECT coalesce(max(abs_diff_wei::HUGEINT), 0) FROM replay_divergences WHERE class = 'rounding')
           AS rounding_max_abs_wei,
       (SELECT count(DISTINCT (event, field)) FROM replay_divergences WHERE class = 'rounding')
           AS rounding_fields,
       (SELECT count(*) FROM quarantine) AS quarantined_logs,
       (SELECT max(to_block) FROM ingested_ranges) AS last_block,
       (SELECT count(*) FROM reorgs) AS reorgs_repaired;
