from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from detente.model import TorchPredictor, load_model
from detente.training.records import Record
from detente.training.trainer import Trainer
from detente.training.training_args import ExperimentConfig, ModelArguments, TrainingArguments

STANCE_ONLY = [
    Record(f"we must talk to end the war {i}", "negotiations", "favor") for i in range(12)
] + [Record(f"there will be no talks {i}", "negotiations", "against") for i in range(12)]
SENTIMENT_ONLY = [Record(f"what a great day {i}", None, None, "positive") for i in range(12)] + [
    Record(f"a terrible attack {i}", None, None, "negative") for i in range(12)
]


def simple_metrics(predictor, records) -> dict[str, float]:
    stance, _ = predictor.predict_probs([r.text for r in records], [r.target for r in records])
    labels = predictor.config.stance_labels
    gold = [labels.index(r.stance) for r in records if r.stance]
    pred = [int(stance[i].argmax()) for i, r in enumerate(records) if r.stance]
    return {"mean_macro_f1": float(np.mean(np.array(gold) == np.array(pred)))}


def experiment(tiny_base: Path, **training) -> ExperimentConfig:
    args = {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3, "seed": 3, **training}
    return ExperimentConfig(
        model=ModelArguments(base=str(tiny_base), max_length=32),
        training=TrainingArguments(**args),
    )


def run(tiny_base: Path, out: Path, evaluate=simple_metrics, resume=False, **training) -> dict:
    config = experiment(tiny_base, **training)
    corpora = {"stance": STANCE_ONLY, "sentiment": SENTIMENT_ONLY}
    from detente.training.corpora import CorpusConfig

    config.corpora = [
        CorpusConfig(name="stance", format="jsonl", files={}),
        CorpusConfig(name="sentiment", format="jsonl", files={}, weight=0.5),
    ]
    trainer = Trainer(config, corpora, STANCE_ONLY[::3], out, evaluate)
    return trainer.train(resume=resume)


def test_training_learns_from_partially_labelled_corpora(tiny_base: Path, tmp_path: Path) -> None:
    summary = run(tiny_base, tmp_path / "model", epochs=4)
    assert summary["best"]["mean_macro_f1"] > 0.9
    model, tokenizer = load_model(tmp_path / "model")
    stance, sentiment = TorchPredictor(model, tokenizer).predict_probs(
        ["there will be no talks 99"], ["negotiations"]
    )
    assert model.config.stance_labels[int(stance.argmax())] == "against"
    assert (tmp_path / "model" / "metrics.json").is_file()
    assert not (tmp_path / "model.checkpoint").exists()


def test_interrupted_run_resumes_to_the_same_model(tiny_base: Path, tmp_path: Path) -> None:
    reference = run(tiny_base, tmp_path / "ref", checkpoint_every_steps=1)
    calls = {"n": 0}

    def crash_on_second_eval(predictor, records):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return simple_metrics(predictor, records)

    with pytest.raises(KeyboardInterrupt):
        run(tiny_base, tmp_path / "run", crash_on_second_eval, checkpoint_every_steps=1)
    assert not (tmp_path / "run").exists()  # nothing half-written where the model goes
    assert (tmp_path / "run.checkpoint" / "state").is_dir()
    resumed = run(tiny_base, tmp_path / "run", resume=True, checkpoint_every_steps=1)
    for key in ("epoch", "mean_macro_f1"):
        assert resumed["best"][key] == reference["best"][key]
    a = load_model(tmp_path / "ref")[0].state_dict()
    b = load_model(tmp_path / "run")[0].state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_without_checkpoint_is_an_error(tiny_base: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        run(tiny_base, tmp_path / "none", resume=True)
