-- title: Replay health: events replayed, divergences, blocks covered
-- chart: table
SELECT (SELECT max(events_applied) FROM replay_checkpoints) AS events_replayed,
       (SELECT count(*) FROM replay_divergences) AS divergences,
       (SELECT count(*) FROM quarantine) AS quarantined_logs,
       (SELECT max(to_block) FROM ingested_ranges) AS last_block,
       (SELECT count(*) FROM reorgs) AS reorgs_repaired;
