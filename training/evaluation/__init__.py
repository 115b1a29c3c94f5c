"""Evaluation: metrics, calibration, bootstrap intervals, baselines, plots and reports.

Entry points: `evaluator.run_evaluation` / `evaluate_records` (full report data),
`evaluator.DevEvaluator` (fast per-epoch dev metrics for training), `report.write_report`, and
the `detente evaluate` command in `cli`. Kept import-free so `detente --help` stays fast.
"""
