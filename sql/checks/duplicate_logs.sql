-- A log lands once: (block_number, log_index) is unique in raw_logs.
SELECT block_number, log_index, count(*) AS n FROM raw_logs GROUP BY ALL HAVING count(*) > 1;
