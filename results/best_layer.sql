-- The best probe layer of each run (the latest finished run of each config), chosen on
-- validation (never on test), with its test accuracy (%).
--   sqlite3 -header -column results/results.db < results/best_layer.sql
SELECT experiment, label AS variant, run_id AS run,
       CAST(MAX(CASE WHEN metric = 'best_layer' THEN value END) AS INTEGER) AS best_layer,
       ROUND(100 * MAX(CASE WHEN metric = 'best_layer_accuracy' AND split = 'val' THEN value END), 2) AS val,
       ROUND(100 * MAX(CASE WHEN metric = 'best_layer_accuracy' AND split = 'test' THEN value END), 2) AS test
FROM latest_results
WHERE evaluator = 'linear_probe'
GROUP BY experiment, run_id
ORDER BY experiment, run_id;
