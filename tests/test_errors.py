"""Every command, given broken input, ends with exit code 2 and one `error:` line, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.model.errors import ManifestError
from detente.serving.cli import app
from detente.training.corpora import DataError
from detente.training.negotiation_corpus import CorpusError


def check_one_line_error(args: list[str], *needles: str) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (args, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture()
def broken_model(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model whose weights no longer match its manifest."""
    copy = shutil.copytree(tiny_model_dir, tmp_path / "broken")
    with (copy / "model.safetensors").open("r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))
    return copy


def test_corpus_error_is_a_data_error() -> None:
    assert issubclass(CorpusError, DataError)


def test_every_command_reports_broken_input_on_one_line(tmp_path: Path, broken_model: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("Talks resumed in Geneva.", encoding="utf-8")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("corpora: [unclosed\n", encoding="utf-8")
    bad_labels = tmp_path / "labels.csv"
    bad_labels.write_text("text,target,stance\nWe talk.,negotiations,maybe\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    missing_shared = tmp_path / "neg.yaml"  # the project's corpus, ../shared absent
    missing_shared.write_text(
        "corpora:\n  - name: negotiation\n    format: negotiation\n"
        f"    root: {root}\n"
        f"    files: {{train: data/negotiation_stance, shared: {tmp_path / 'no-shared'}}}\n",
        encoding="utf-8",
    )
    weights = str(broken_model / "model.safetensors")
    check_one_line_error(["score", str(text), "--model", str(broken_model)], weights, "SHA-256")
    check_one_line_error(["serve", "--model", str(broken_model)], weights)
    check_one_line_error(["export", "--model", str(broken_model)], weights)
    check_one_line_error(["manifest", str(broken_model), "--check"], weights)
    check_one_line_error(["manifest", str(tmp_path / "nowhere")], "nowhere")
    check_one_line_error(["train", "--config", str(bad_yaml)], str(bad_yaml), "line 2")
    check_one_line_error(["train", "--config", str(tmp_path / "none.yaml")], "none.yaml")
    check_one_line_error(
        ["evaluate", "--model", str(broken_model), "--data", str(bad_labels)], "maybe"
    )
    check_one_line_error(
        ["evaluate", "--model", str(broken_model), "--data", str(tmp_path / "x.csv")], "x.csv"
    )
    check_one_line_error(
        ["evaluate", "--model", str(broken_model), "--data", str(missing_shared)], "no-shared"
    )
    check_one_line_error(["train", "--config", str(missing_shared)], "no-shared")
    check_one_line_error(
        ["score", str(text), "--model", str(broken_model), "--backend", "nope"], "nope"
    )


def test_manifest_command_writes_and_checks(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(tiny_model_dir, tmp_path / "m")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    assert {"model.safetensors", "detente_config.json"} <= set(manifest["files"])
    (copy / "manifest.json").unlink()
    result = CliRunner().invoke(app, ["manifest", str(copy)])
    assert result.exit_code == 0, result.output
    assert json.loads((copy / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert CliRunner().invoke(app, ["manifest", str(copy), "--check"]).exit_code == 0
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ManifestError, match="tokenizer.json"):
        from detente.model.serialization import load_model

        load_model(copy)
