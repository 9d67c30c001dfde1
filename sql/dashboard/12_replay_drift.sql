-- title: Replay rounding drift per day: values within 4 wei of the replay's (a day at 0 had none)
-- section: Replay health
-- chart: bar
-- x: day
-- y: rounding_drift
-- unit: num
-- x_name: day (UTC)
-- y_name: divergences per day
-- Every day the replay covered, zero-filled; the fields column names event.field (rows, max wei) of the day.
-- From mart_replay_drift_daily (rounding) and replay_divergences (structural, which also fail the run's check).
WITH covered AS (
    SELECT unnest(generate_series(to_timestamp(min(ts))::DATE, to_timestamp(max(ts))::DATE, INTERVAL 1 DAY))::DATE
           AS day
    FROM amm_snapshots
),
drift AS (
    SELECT day, sum(divergences) AS rounding_drift, max(max_abs_wei) AS max_abs_wei, sum(sum_abs_wei) AS sum_abs_wei,
           sum(net_wei) AS net_wei,
           string_agg(event || '.' || field || ' (' || divergences || ', ' || max_abs_wei || ' wei)', ', '
                      ORDER BY divergences DESC, event, field) AS fields
    FROM (SELECT day, event, field, sum(divergences) AS divergences, max(max_abs_wei) AS max_abs_wei,
                 sum(sum_abs_wei) AS sum_abs_wei, sum(net_wei) AS net_wei
          FROM mart_replay_drift_daily GROUP BY ALL) GROUP BY day
),
structural AS (
    SELECT to_timestamp(ts)::DATE AS day, count(*) AS structural FROM replay_divergences
    WHERE class IS DISTINCT FROM 'rounding' GROUP BY ALL
)
SELECT day, coalesce(rounding_drift, 0)::BIGINT AS rounding_drift, coalesce(max_abs_wei, 0) AS max_abs_wei,
       coalesce(sum_abs_wei, 0) AS sum_abs_wei, coalesce(net_wei, 0) AS net_wei,
       coalesce(structural, 0) AS structural, coalesce(fields, '') AS fields
FROM (SELECT day FROM covered UNION SELECT day FROM drift UNION SELECT day FROM structural) d
LEFT JOIN drift USING (day) LEFT JOIN structural USING (day)
WHERE day IS NOT NULL
ORDER BY day;
