-- The gain from pretraining: each run's linear-probe test accuracy (%) at each
-- layer beside that of its random-init control, and the difference (runs: the latest
-- finished run of each config). The control is a run of the same experiment with the same [model] section and
-- training.steps = 0: the initialised model, never trained (an experiment adds one with
-- a variant `random_init = { "training.steps" = 0 }`). Full-data probes only (a
-- low-data probe writes accuracy_std rows and is left out); several controls or
-- several probes of one run are averaged.
--   sqlite3 -header -column results/results.db < results/pretraining_gain.sql
WITH sections AS (
  SELECT id AS run_id,
         substr(config, instr(config, '[model]'),
                instr(substr(config, instr(config, '[model]')), char(10) || char(10))) AS model,
         substr(config, instr(config, '[training]')) AS rest
  FROM runs WHERE id IN (SELECT run_id FROM latest_runs)
),
kind AS (
  SELECT run_id, model,
         instr(substr(rest, 1, CASE WHEN instr(rest, char(10) || '[') > 0
                                    THEN instr(rest, char(10) || '[') ELSE length(rest) END),
               char(10) || 'steps = 0' || char(10)) > 0 AS control
  FROM sections
),
probe AS (
  SELECT r.experiment, r.label, r.run_id, r.layer, AVG(r.value) AS value, k.model, k.control
  FROM latest_results r JOIN kind k ON k.run_id = r.run_id
  WHERE r.evaluator = 'linear_probe' AND r.metric = 'accuracy' AND r.split = 'test'
        AND r.evaluator_hash NOT IN (SELECT evaluator_hash FROM results
                                     WHERE metric = 'accuracy_std')
  GROUP BY r.run_id, r.layer
)
SELECT p.experiment, p.label, p.layer,
       ROUND(100 * p.value, 2) AS pretrained_test,
       ROUND(100 * AVG(c.value), 2) AS random_init_test,
       ROUND(100 * (p.value - AVG(c.value)), 2) AS gain
FROM probe p
JOIN probe c ON c.experiment = p.experiment AND c.model = p.model AND c.layer = p.layer
             AND c.control
WHERE NOT p.control
GROUP BY p.run_id, p.layer
ORDER BY p.experiment, p.label, p.layer;
