-- AR vs BERT: linear-probe test accuracy (%) at each layer, the two objectives side by
-- side, per experiment; each run's objective read from its resolved config (the first
-- `plugin = "..."` after `[objective]`; keys are sorted, so the section's own). Where
-- an experiment holds several runs of one objective (seeds, sweeps; the latest finished
-- run of each config), their mean is shown with the count.
--   sqlite3 -header -column results/results.db < results/ar_vs_bert.sql
WITH objective AS (
  SELECT id AS run_id,
         substr(o, instr(o, 'plugin = "') + 10,
                instr(substr(o, instr(o, 'plugin = "') + 10), '"') - 1) AS objective
  FROM (SELECT id, substr(config, instr(config, '[objective]')) AS o FROM runs)
)
SELECT experiment, layer,
       ROUND(100 * AVG(CASE WHEN objective = 'ar' THEN value END), 2) AS ar_test,
       COUNT(DISTINCT CASE WHEN objective = 'ar' THEN r.run_id END) AS ar_runs,
       ROUND(100 * AVG(CASE WHEN objective = 'bert' THEN value END), 2) AS bert_test,
       COUNT(DISTINCT CASE WHEN objective = 'bert' THEN r.run_id END) AS bert_runs
FROM latest_results r JOIN objective o ON o.run_id = r.run_id
WHERE evaluator = 'linear_probe' AND metric = 'accuracy' AND split = 'test'
GROUP BY experiment, layer
ORDER BY experiment, layer;
