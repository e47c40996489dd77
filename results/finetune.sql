-- Fine-tuning results of each run (the latest finished run of each config): the layer the head read, the best
-- validation accuracy and the test accuracy of that epoch's weights (%), epochs run.
-- `evaluator` (the evaluator's config hash) tells two fine-tunings of one run apart;
-- `workbench results show RUN` prints their configs.
--   sqlite3 -header -column results/results.db < results/finetune.sql
SELECT experiment, label AS variant, run_id AS run, evaluator_hash AS evaluator, layer,
       ROUND(100 * MAX(CASE WHEN metric = 'accuracy' AND split = 'val' THEN value END), 2) AS val,
       ROUND(100 * MAX(CASE WHEN metric = 'accuracy' AND split = 'test' THEN value END), 2) AS test,
       CAST(MAX(CASE WHEN metric = 'epochs' THEN value END) AS INTEGER) AS epochs
FROM latest_results
WHERE evaluator = 'finetune'
GROUP BY experiment, run_id, evaluator_hash, layer
ORDER BY experiment, run_id, layer;
