from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from typer.testing import CliRunner

from detente.model.backends import load_predictor
from detente.serving.cli import app
from detente.training.evaluation.baselines import majority, tfidf_lr, vader, vader_labels
from detente.training.evaluation.bootstrap import bootstrap_ci
from detente.training.evaluation.calibration import bin_index, calibration
from detente.training.evaluation.evaluator import (
    DevEvaluator,
    EvaluationError,
    evaluate_records,
    run_evaluation,
)
from detente.training.evaluation.metrics import (
    confusion,
    f1_per_class_from_confusion,
    head_metrics,
    macro_f1_from_confusion,
)
from detente.training.evaluation.report import terminal_table, write_report
from detente.training.records import Record

STANCE = ["none", "against", "favor"]
SENTIMENT = ["negative", "neutral", "positive"]


def idx(labels: list[str], names: list[str]) -> np.ndarray:
    return np.array([labels.index(n) for n in names])


# --- metrics --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_head_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.6, gold, rng.integers(0, 3, 200))
    m = head_metrics(gold, pred, STANCE)
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=[0, 1, 2], zero_division=0)
    assert m["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    for i, label in enumerate(STANCE):
        row = m["per_class"][label]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((p[i], r[i], f[i]))
        assert row["support"] == s[i]
    assert m["confusion"] == confusion_matrix(gold, pred, labels=[0, 1, 2]).tolist()
    assert m["f_avg"] == pytest.approx((f[2] + f[1]) / 2)
    matrix = confusion(gold, pred, 3)
    assert macro_f1_from_confusion(matrix) == pytest.approx(m["macro_f1"])
    np.testing.assert_allclose(f1_per_class_from_confusion(matrix), f)


def test_head_metrics_hand_computed() -> None:
    gold = idx(STANCE, ["none", "none", "against", "favor"])
    pred = idx(STANCE, ["none", "against", "against", "against"])
    m = head_metrics(gold, pred, STANCE)
    # none: P 1, R 1/2, F1 2/3; against: P 1/3, R 1, F1 1/2; favor: nothing right, F1 0.
    assert m["accuracy"] == 0.5
    assert m["per_class"]["none"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["against"]["precision"] == pytest.approx(1 / 3)
    assert m["per_class"]["against"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["favor"]["f1"] == 0.0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert m["f_avg"] == pytest.approx((0 + 0.5) / 2)


def test_class_absent_from_gold() -> None:
    gold = idx(STANCE, ["none", "none", "against"])
    pred = idx(STANCE, ["none", "favor", "against"])
    m = head_metrics(gold, pred, STANCE)
    favor = m["per_class"]["favor"]
    assert (favor["support"], favor["predicted"], favor["precision"], favor["f1"]) == (0, 1, 0, 0)
    # favor was predicted, so it counts in the macro mean (as scikit-learn does): (2/3 + 1 + 0) / 3
    assert m["macro_f1"] == pytest.approx(5 / 9)
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert m["f_avg"] == pytest.approx(0.5)


def test_class_absent_from_predictions_and_from_both() -> None:
    gold = idx(STANCE, ["none", "favor"])
    pred = idx(STANCE, ["none", "none"])
    m = head_metrics(gold, pred, STANCE)
    # favor is in gold only (F1 0); against is in neither and is left out of the mean.
    assert m["per_class"]["favor"]["recall"] == 0.0
    assert m["per_class"]["against"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "predicted": 0,
    }
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert m["f_avg"] == 0.0
    perfect = head_metrics(
        idx(STANCE, ["none", "against"]), idx(STANCE, ["none", "against"]), STANCE
    )
    assert perfect["macro_f1"] == 1.0 and perfect["f_avg"] == 0.5


def test_no_f_avg_for_sentiment() -> None:
    m = head_metrics(np.array([0, 1, 2]), np.array([0, 1, 1]), SENTIMENT)
    assert "f_avg" not in m


# --- calibration and bootstrap ----------------------------------------------------------------


def test_ece_hand_computed() -> None:
    probs = np.array([[0.95, 0.05], [0.62, 0.38], [0.32, 0.68], [0.45, 0.55]])
    gold = np.array([0, 1, 1, 0])
    result = calibration(probs, gold, n_bins=10)
    # bins: 0.95 right | 0.62 wrong + 0.68 right (acc 0.5, conf 0.65) | 0.55 wrong
    expected = 0.25 * 0.05 + 0.5 * 0.15 + 0.25 * 0.55
    assert result["ece"] == pytest.approx(expected)
    assert [b["count"] for b in result["bins"]] == [0, 0, 0, 0, 0, 1, 2, 0, 0, 1]
    assert result["bins"][6]["accuracy"] == 0.5


def test_ece_perfect_and_bin_edges() -> None:
    assert calibration(np.eye(3), np.arange(3))["ece"] == 0.0
    assert bin_index(np.array([0.0, 0.1, 0.7, 0.71, 1.0]), 10).tolist() == [0, 0, 6, 7, 9]


def test_bootstrap_contains_point_and_is_deterministic() -> None:
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 3, 150)
    pred = np.where(rng.random(150) < 0.7, gold, rng.integers(0, 3, 150))
    point = macro_f1_from_confusion(confusion(gold, pred, 3))
    stats = {"macro_f1": macro_f1_from_confusion}
    first = bootstrap_ci(gold, pred, 3, stats, n_resamples=300, seed=5)
    again = bootstrap_ci(gold, pred, 3, stats, n_resamples=300, seed=5)
    other = bootstrap_ci(gold, pred, 3, stats, n_resamples=300, seed=6)
    low, high = first["macro_f1"]
    assert low < point < high and high - low < 0.3
    assert first == again and first != other


# --- baselines --------------------------------------------------------------------------------


def test_majority_baseline() -> None:
    pred, note = majority(["favor", "favor", "none"], np.array([0, 1]), STANCE)
    assert pred.tolist() == [2, 2] and "favor" in note
    pred, note = majority([], np.array([1, 1, 0]), STANCE)
    assert pred.tolist() == [1, 1, 1] and "evaluated set" in note


def test_tfidf_baseline_trains_or_skips() -> None:
    texts = ["talks now please", "peace talks welcome", "no talks ever", "never negotiate"] * 3
    labels = ["favor", "favor", "against", "against"] * 3
    pred, _ = tfidf_lr(texts, labels, ["we welcome talks", "never ever"], STANCE)
    assert pred is not None and pred.tolist() == [2, 1]
    pred, note = tfidf_lr([], [], ["x"], STANCE)
    assert pred is None and "skipped" in note


def test_vader_baseline() -> None:
    assert vader_labels(
        ["What a wonderful, happy success!", "A terrible, deadly attack.", "It is a table."]
    ) == [
        "positive",
        "negative",
        "neutral",
    ]
    assert vader(["x"], STANCE)[0] is None


# --- evaluator, report and CLI on the tiny model ---------------------------------------------

RECORDS = [
    Record("Both sides agreed to resume peace talks.", "negotiations", "favor", "positive", "a"),
    Record("No talks until every soldier leaves.", "negotiations", "against", "negative", "b"),
    Record("Rain fell on the capital.", None, "none", "neutral", "c"),
    Record("The ceasefire talks are a trap.", "ceasefire", "against", None, "d"),
    Record("Mediators offered to host the meeting.", "ceasefire", "favor", "positive", "e"),
    Record("Markets closed lower on Friday.", "ceasefire", None, "neutral", "f"),
]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: Path):
    return load_predictor(tiny_model_dir)


def test_dev_evaluator_keys(predictor) -> None:
    scores = DevEvaluator(RECORDS)(predictor)
    expected = {"stance.accuracy", "stance.macro_f1", "stance.f_avg", "sentiment.accuracy"}
    assert expected | {"sentiment.macro_f1", "mean_macro_f1", "n"} <= set(scores)
    assert all(isinstance(v, float) for v in scores.values())
    assert scores["mean_macro_f1"] == pytest.approx(
        (scores["stance.macro_f1"] + scores["sentiment.macro_f1"]) / 2
    )


def test_run_evaluation_and_report(predictor, tmp_path: Path) -> None:
    train = [Record(r.text, r.target, r.stance, r.sentiment) for r in RECORDS * 2]
    evaluation = run_evaluation(predictor, RECORDS, train_records=train, n_bootstrap=50)
    m = evaluation.metrics
    assert m["stance.n"] == 5 and m["sentiment.n"] == 5
    assert m["stance.macro_f1_ci_low"] <= m["stance.macro_f1"] <= m["stance.macro_f1_ci_high"]
    assert set(m["per_target"]) == {"negotiations", "ceasefire"}
    assert "baseline.vader.sentiment.macro_f1" in m and "baseline.tfidf_lr.stance.f_avg" in m
    assert any("without a target" in note for note in m["notes"])
    wrong = evaluation.misclassified
    assert [w["gold_probability"] for w in wrong] == sorted(w["gold_probability"] for w in wrong)
    overridden = run_evaluation(predictor, RECORDS, target="talks", baselines=False, n_bootstrap=0)
    assert "per_target" not in overridden.metrics
    assert "stance.macro_f1_ci_low" not in overridden.metrics
    paths = write_report(evaluation, tmp_path / "out", ["test"])
    assert all(p.is_file() for p in paths.values())
    assert "## Per target" in paths["report"].read_text()
    assert "stance" in terminal_table(m)


def test_evaluate_records_bad_input(predictor) -> None:
    with pytest.raises(EvaluationError, match="no records"):
        evaluate_records(predictor, [])
    with pytest.raises(EvaluationError, match="no gold labels"):
        evaluate_records(predictor, [Record("text only")])
    with pytest.raises(EvaluationError, match="unknown stance label 'pro'"):
        evaluate_records(predictor, [Record("x", stance="pro")])
    with pytest.raises(EvaluationError):
        DevEvaluator([Record("text only")])


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def run_cli(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args])


def test_cli_end_to_end(tiny_model_dir: Path, tmp_path: Path) -> None:
    rows = [
        vars(r) | {"id": str(i)}  # absent labels and targets are written as null
        for i, r in enumerate(RECORDS * 3)
    ]
    data = write_jsonl(tmp_path / "dev.jsonl", rows)
    out = tmp_path / "report"
    result = run_cli("--model", str(tiny_model_dir), "--data", str(data), "--output", str(out))
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.stdout and "VADER" in result.stdout
    names = {p.name for p in out.iterdir()}
    assert {"metrics.json", "report.md", "misclassified.jsonl", "stance_confusion.png"} <= names
    assert "sentiment_reliability.png" in names
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("stance.macro_f1", "stance.f_avg", "stance.accuracy", "sentiment.macro_f1"):
        assert isinstance(metrics[key], float)
    assert "sentiment.accuracy" in metrics and metrics["data"]["n_records"] == 18
    assert "stance_reliability.png" in (out / "report.md").read_text()
    first = json.loads((out / "misclassified.jsonl").read_text().splitlines()[0])
    assert {"text", "gold", "predicted", "probabilities"} <= set(first)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ('{"text": "only text"}\n', "no gold labels"),
        ('{"text": "a", "stance": "pro"}\n', "unknown label 'pro'"),
    ],
)
def test_cli_bad_input(tiny_model_dir: Path, tmp_path: Path, content: str, message: str) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(content, encoding="utf-8")
    result = run_cli("--model", str(tiny_model_dir), "--data", str(data), "-o", str(tmp_path / "o"))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_missing_inputs(tiny_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    result = run_cli("--model", str(tiny_model_dir), "--data", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2 and "file not found" in result.stderr
    data = write_jsonl(tmp_path / "ok.jsonl", [{"text": "a", "stance": "favor"}])
    result = run_cli("--model", str(tmp_path / "no-model"), "--data", str(data))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    monkeypatch.setattr("detente.model.DEFAULT_MODEL_DIR", tmp_path / "absent")
    result = run_cli("--data", str(data))
    assert result.exit_code == 2 and "default model is not installed" in result.stderr
