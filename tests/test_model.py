from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from detente.model import DetenteModel, ModelLoadError, TorchPredictor, load_model, save_model
from detente.model.modeling import IGNORE, load_tokenizer, masked_loss

TEXTS = ["Both sides agreed to resume talks.", "No talks until the troops leave.", "Rain."]
TARGETS = ["negotiations", "negotiations", None]


def test_round_trip_gives_identical_predictions(tiny_model_dir: Path, tmp_path: Path) -> None:
    model, tokenizer = load_model(tiny_model_dir)
    before = TorchPredictor(model, tokenizer).predict_probs(TEXTS, TARGETS)
    again = save_model(model, tokenizer, tmp_path / "copy")
    after = TorchPredictor(*load_model(again)).predict_probs(TEXTS, TARGETS)
    for left, right in zip(before, after, strict=True):
        np.testing.assert_allclose(left, right, atol=1e-6)
    assert before[0].shape == (3, 3) and before[1].shape == (3, 3)
    np.testing.assert_allclose(before[0].sum(1), 1.0, atol=1e-5)


def test_batch_order_does_not_change_predictions(tiny_model_dir: Path) -> None:
    predictor = TorchPredictor(*load_model(tiny_model_dir))
    one = predictor.predict_probs(TEXTS, TARGETS, batch_size=1)
    all_ = predictor.predict_probs(TEXTS, TARGETS, batch_size=8)
    np.testing.assert_allclose(one[0], all_[0], atol=1e-5)


def test_lora_model_saves_only_adapters_and_heads(tiny_base: Path, tmp_path: Path) -> None:
    config = DetenteModel.new_config(str(tiny_base), method="lora")
    model = DetenteModel.from_base(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_()
    model.eval()
    tokenizer = load_tokenizer(tiny_base)
    expected = TorchPredictor(model, tokenizer).predict_probs(TEXTS, TARGETS)
    directory = save_model(model, tokenizer, tmp_path / "lora")
    from safetensors.torch import load_file

    keys = load_file(str(directory / "model.safetensors")).keys()
    assert keys and all("lora_" in k or "_head" in k for k in keys)
    got = TorchPredictor(*load_model(directory)).predict_probs(TEXTS, TARGETS)
    np.testing.assert_allclose(expected[0], got[0], atol=1e-5)


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="detente_config.json is missing"):
        load_model(tmp_path)
    (tmp_path / "detente_config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelLoadError, match="not a detente model"):
        load_model(tmp_path)


def test_truncated_weights_are_a_clear_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="model.safetensors: .*truncated"):
        load_model(broken)  # caught by the manifest
    (broken / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="unreadable or truncated"):
        load_model(broken)  # caught by the safetensors reader


def test_masked_loss_ignores_missing_labels() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    only_first = masked_loss(logits, torch.tensor([0, IGNORE]))
    expected = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0]))
    assert torch.isclose(only_first, expected)
    assert masked_loss(logits, torch.tensor([IGNORE, IGNORE])).item() == 0.0
