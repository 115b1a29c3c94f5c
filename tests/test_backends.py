"""Execution backends: ONNX export (fp32 and int8), bf16, "auto", and `detente export`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from detente.model import DetenteModel, load_model, save_model
from detente.model.backends import (
    BACKENDS,
    bf16_support,
    choose_backend,
    label_agreement,
    load_predictor,
)
from detente.model.modeling import load_tokenizer
from detente.model.onnx_backend import (
    EXPORT_INFO_NAME,
    ONNX_INT8_NAME,
    ONNX_NAME,
    OnnxPredictor,
    PairTokenizer,
    cache_dir_for,
    check_export,
    export_onnx,
    find_export,
    model_fingerprint,
    record_agreement,
)
from detente.model.predict import encode_pairs

SENTENCES = [
    "Both sides said the talks in Geneva were constructive and agreed to meet again.",
    "The ministry rejected any negotiations.",
    "Critics called the ceasefire proposal a trap that would only reward the aggressor, "
    "and several members of parliament demanded that the delegation be recalled at once.",
    "Talks.",
    "Heavy shelling continued overnight in the east, officials said.",
    "The president welcomed the mediation offer and said dialogue was the only way forward.",
    "word " * 120,
]
TARGETS = ["negotiations", None, "negotiations", "the ceasefire", None, "negotiations", None]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A copy of the tiny model with its ONNX export beside it."""
    directory = tmp_path_factory.mktemp("exported") / "tiny"
    shutil.copytree(tiny_model_dir, directory)
    export_onnx(directory)
    return directory


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DETENTE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _torch_logits(directory: Path, texts, targets) -> tuple[np.ndarray, np.ndarray]:
    model, tokenizer = load_model(directory)
    encoded = encode_pairs(tokenizer, texts, targets, model.config.max_length)
    batch = tokenizer.pad(encoded, return_tensors="pt")
    with torch.inference_mode():
        output = model(**batch)
    return output.stance_logits.numpy(), output.sentiment_logits.numpy()


def test_export_writes_both_graphs_and_fingerprint(exported: Path) -> None:
    assert (exported / ONNX_NAME).is_file() and (exported / ONNX_INT8_NAME).is_file()
    info = json.loads((exported / EXPORT_INFO_NAME).read_text())
    assert info["fingerprint"] == model_fingerprint(exported)
    assert info["files"] == {"onnx": ONNX_NAME, "onnx-int8": ONNX_INT8_NAME}
    found = find_export(exported)
    assert found is not None and found[0] == exported


def test_onnx_fp32_matches_torch(exported: Path) -> None:
    onnx = OnnxPredictor(exported, quantized=False)
    # logits of one padded batch, compared with the PyTorch model directly
    stance, sentiment = onnx.predict_logits(SENTENCES, TARGETS, batch_size=len(SENTENCES))
    ref_stance, ref_sentiment = _torch_logits(exported, SENTENCES, TARGETS)
    np.testing.assert_allclose(stance, ref_stance, atol=1e-4)
    np.testing.assert_allclose(sentiment, ref_sentiment, atol=1e-4)
    # probabilities through both predictors, several batches of different widths
    torch_probs = load_predictor(exported, "torch").predict_probs(SENTENCES, TARGETS, batch_size=3)
    onnx_probs = load_predictor(exported, "onnx").predict_probs(SENTENCES, TARGETS, batch_size=3)
    for ref, got in zip(torch_probs, onnx_probs, strict=True):
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-4)


def test_lora_model_exports_merged(tiny_base: Path, tmp_path: Path) -> None:
    torch.manual_seed(5)
    config = DetenteModel.new_config(str(tiny_base), method="lora", max_length=64)
    model = DetenteModel.from_base(config)
    for name, param in model.named_parameters():  # non-zero adapters, so merging matters
        if "lora_B" in name:
            torch.nn.init.normal_(param, std=0.5)
    directory = save_model(model, load_tokenizer(tiny_base), tmp_path / "lora")
    export_onnx(directory, quantize=False)
    ref = load_predictor(directory, "torch").predict_probs(SENTENCES, TARGETS)
    got = load_predictor(directory, "onnx").predict_probs(SENTENCES, TARGETS)
    for r, g in zip(ref, got, strict=True):
        np.testing.assert_allclose(g, r, atol=1e-4)


def test_onnx_int8_returns_valid_probabilities(exported: Path) -> None:
    predictor = load_predictor(exported, "onnx-int8")
    assert predictor.name == "onnx-int8"
    stance, sentiment = predictor.predict_probs(SENTENCES, TARGETS, batch_size=2)
    for probs, labels in (
        (stance, predictor.config.stance_labels),
        (sentiment, predictor.config.sentiment_labels),
    ):
        assert probs.shape == (len(SENTENCES), len(labels)) and probs.dtype == np.float32
        assert np.isfinite(probs).all() and (probs >= 0).all() and (probs <= 1).all()
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    empty = predictor.predict_probs([], [])
    assert empty[0].shape == (0, 3) and empty[1].shape == (0, 3)


def test_rows_come_back_in_input_order(exported: Path) -> None:
    predictor = load_predictor(exported, "onnx")
    together = predictor.predict_probs(SENTENCES, TARGETS, batch_size=2)[0]
    alone = np.concatenate(
        [predictor.predict_probs([s], [t])[0] for s, t in zip(SENTENCES, TARGETS, strict=True)]
    )
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_pair_tokenizer_matches_transformers(tiny_model_dir: Path) -> None:
    hf = load_tokenizer(tiny_model_dir)
    texts = SENTENCES + ["Ünïcödé café — “quotes” 😀 中文", "a", "U.S. talks, 10 a.m. Monday"]
    for targets in ([None] * len(texts), ["negotiations"] * len(texts)):
        for max_length in (64, 12):
            ours = PairTokenizer(tiny_model_dir / "tokenizer.json", max_length)
            got = ours.encode(texts, targets)
            ref = encode_pairs(hf, texts, targets, max_length)
            for r, g in zip(ref, got, strict=True):
                assert g.ids == r["input_ids"]
                assert g.type_ids == r["token_type_ids"]


def test_stale_export_is_not_used(exported: Path, tmp_path: Path, tiny_base: Path) -> None:
    directory = tmp_path / "retrained"
    shutil.copytree(exported, directory)
    torch.manual_seed(123)
    config = DetenteModel.new_config(str(tiny_base), max_length=64)
    save_model(DetenteModel.from_base(config), load_tokenizer(tiny_base), directory)
    shutil.copy(exported / EXPORT_INFO_NAME, directory / EXPORT_INFO_NAME)
    shutil.copy(exported / ONNX_NAME, directory / ONNX_NAME)
    assert find_export(directory) is None
    with pytest.raises(ValueError, match="detente export"):
        load_predictor(directory, "onnx")
    assert choose_backend(directory) == ("bf16" if bf16_support() == "amx" else "torch")


def test_export_to_cache_is_found(tiny_model_dir: Path, tmp_path: Path, cache: Path) -> None:
    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    target = cache_dir_for(model_fingerprint(directory))
    result = export_onnx(directory, target, quantize=False)
    assert result.directory == target and set(result.files) == {"onnx"}
    assert not (directory / ONNX_NAME).exists()
    assert find_export(directory) == (target, json.loads((target / EXPORT_INFO_NAME).read_text()))
    assert load_predictor(directory, "onnx").name == "onnx"
    with pytest.raises(ValueError):
        load_predictor(directory, "onnx-int8")  # exported without --quantize
    assert choose_backend(directory) == ("bf16" if bf16_support() == "amx" else "onnx")


def test_auto_picks_a_valid_backend(
    exported: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    amx = bf16_support() == "amx"
    # an export without a measured agreement: fp32 ONNX (int8 is used only once checked)
    assert choose_backend(exported) == ("bf16" if amx else "onnx")
    checked = tmp_path / "checked"
    shutil.copytree(exported, checked)
    check_export(checked, checked, SENTENCES, TARGETS)
    info = json.loads((checked / EXPORT_INFO_NAME).read_text())
    assert info["agreement"]["onnx"]["stance"] == 1.0
    assert info["check"]["sentences"] == len(SENTENCES)
    record_agreement(checked, {"onnx-int8": {"stance": 0.995, "sentiment": 0.999}})
    assert choose_backend(checked) == ("bf16" if amx else "onnx-int8")
    assert load_predictor(checked, "auto").name == choose_backend(checked)
    # bf16 measured below the floor is passed over, and so is int8
    record_agreement(
        checked,
        {
            "bf16": {"stance": 0.98, "sentiment": 1.0},
            "onnx-int8": {"stance": 0.97, "sentiment": 1.0},
        },
    )
    assert choose_backend(checked) == "onnx"
    # no export: bf16 where the CPU has AMX, else torch
    monkeypatch.setenv("DETENTE_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert choose_backend(tiny_model_dir) == ("bf16" if amx else "torch")
    monkeypatch.setenv("DETENTE_BF16", "0")
    assert choose_backend(tiny_model_dir) == "torch"
    assert load_predictor(tiny_model_dir, "auto").name == "torch"
    assert choose_backend(exported) == "onnx"


def test_bf16(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if bf16_support() is None:
        with pytest.raises(ValueError, match="bf16"):
            load_predictor(tiny_model_dir, "bf16")
        return
    predictor = load_predictor(tiny_model_dir, "bf16")
    assert predictor.name == "bf16"
    stance, sentiment = predictor.predict_probs(SENTENCES, TARGETS)
    ref = load_predictor(tiny_model_dir, "torch").predict_probs(SENTENCES, TARGETS)
    np.testing.assert_allclose(stance, ref[0], atol=0.02)
    np.testing.assert_allclose(sentiment, ref[1], atol=0.02)
    assert stance.dtype == np.float32
    monkeypatch.setenv("DETENTE_BF16", "0")
    with pytest.raises(ValueError, match="bf16"):
        load_predictor(tiny_model_dir, "bf16")


def test_unknown_backend_is_refused(tiny_model_dir: Path) -> None:
    assert set(BACKENDS) >= {"torch", "bf16", "onnx", "onnx-int8", "auto"}
    with pytest.raises(ValueError, match="unknown backend"):
        load_predictor(tiny_model_dir, "tensorrt")


def test_label_agreement() -> None:
    a = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]], dtype=np.float32)
    b = np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.5, 0.5]], dtype=np.float32)
    found = label_agreement((a, a), (b, a))
    assert found["stance"] == 0.75 and found["sentiment"] == 1.0
    assert found["max_abs_diff"] == pytest.approx(0.2)


def test_onnx_path_does_not_import_torch(exported: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from detente.model.backends import load_predictor
        for backend in ("onnx", "auto", "onnx-int8"):
            predictor = load_predictor({str(exported)!r}, backend)
            stance, sentiment = predictor.predict_probs(["Talks resumed."], [None])
            assert stance.shape == (1, 3), stance.shape
        print("torch imported:", "torch" in sys.modules, predictor.name)
        """
    )
    env = {**os.environ, "DETENTE_BF16": "0"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "torch imported: False onnx-int8" in run.stdout, run.stdout + run.stderr


def test_export_cli(tiny_model_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from detente.serving.cli import app

    directory = tmp_path / "model"
    shutil.copytree(tiny_model_dir, directory)
    check = tmp_path / "check.jsonl"
    check.write_text(
        "\n".join(
            json.dumps({"text": s, "target": t}) for s, t in zip(SENTENCES, TARGETS, strict=True)
        )
        + "\n"
    )
    article = tmp_path / "article.txt"
    article.write_text("Talks resumed on Monday. Both sides welcomed the progress made so far.\n")
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--model",
            str(directory),
            "--check-data",
            str(check),
            "--check-data",
            str(article),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "onnx-int8" in result.output and "stance" in result.output
    info = json.loads((directory / EXPORT_INFO_NAME).read_text())
    assert info["agreement"]["onnx"]["stance"] == 1.0
    assert info["agreement"]["onnx"]["n"] == len(SENTENCES) + 2
    assert set(info["agreement"]) >= {"onnx", "onnx-int8"}

    no_int8 = CliRunner().invoke(app, ["export", "--model", str(directory), "--no-quantize"])
    assert no_int8.exit_code == 0, no_int8.output
    assert not (directory / ONNX_INT8_NAME).exists()

    missing = CliRunner().invoke(app, ["export", "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    bad = CliRunner().invoke(
        app, ["export", "--model", str(directory), "--check-data", str(tmp_path / "absent.txt")]
    )
    assert bad.exit_code == 2
