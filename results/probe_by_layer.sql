-- Linear-probe accuracy (%) per layer of each run (the latest finished run of each
-- config), val and test side by side.
--   sqlite3 -header -column results/results.db < results/probe_by_layer.sql
SELECT experiment, label AS variant, run_id AS run, layer,
       ROUND(100 * MAX(CASE split WHEN 'train' THEN value END), 2) AS train,
       ROUND(100 * MAX(CASE split WHEN 'val' THEN value END), 2) AS val,
       ROUND(100 * MAX(CASE split WHEN 'test' THEN value END), 2) AS test
FROM latest_results
WHERE evaluator = 'linear_probe' AND metric = 'accuracy'
GROUP BY experiment, run_id, layer
ORDER BY experiment, run_id, layer;
