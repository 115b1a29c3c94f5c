"""`detente train` killed with SIGKILL mid-epoch and run again with --resume ends with the same
model as an uninterrupted run with the same seed (configs/tiny.yaml, made smaller)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from safetensors.numpy import load_file

DETENTE = Path(sys.executable).parent / "detente"


def small_tiny_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "configs" / "tiny.yaml").read_text(encoding="utf-8"))
    config["data_root"] = str(ROOT)
    config["training"].update(max_train_samples=48, batch_size=8, checkpoint_every_steps=2)
    path = tmp_path / "tiny-small.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def train(config: Path, output: Path, *extra: str) -> subprocess.Popen:
    command = [str(DETENTE), "train", "--config", str(config), "--output", str(output), *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def checkpoint_step(output: Path) -> int:
    state = output.with_name(output.name + ".checkpoint") / "state" / "state.json"
    try:
        return json.loads(state.read_text(encoding="utf-8"))["step_in_epoch"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.skipif(
    os.environ.get("DETENTE_SLOW_TESTS") != "1",
    reason="three training runs of the real base encoder (minutes on 2 cores): "
    "DETENTE_SLOW_TESTS=1 runs it",
)
def test_training_killed_mid_epoch_resumes_to_the_same_model(tmp_path: Path) -> None:
    config = small_tiny_config(tmp_path)
    run = tmp_path / "run"
    process = train(config, run)
    deadline = time.monotonic() + 600
    while checkpoint_step(run) < 2 and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.returncode != -signal.SIGKILL:
        pytest.fail(f"training ended before it could be killed: {process.stderr.read()[-500:]}")
    assert not run.exists()  # nothing half-written where the model goes
    resumed = train(config, run, "--resume")
    reference = train(config, tmp_path / "reference")
    for process in (resumed, reference):
        _, stderr = process.communicate(timeout=900)
        assert process.returncode == 0, stderr[-2000:]
    a = load_file(str(run / "model.safetensors"))
    b = load_file(str(tmp_path / "reference" / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        assert abs(a[name].astype("float64") - b[name].astype("float64")).max() < 1e-3, name
    best = [
        json.loads((d / "metrics.json").read_text(encoding="utf-8"))["best"]
        for d in (run, tmp_path / "reference")
    ]
    assert best[0]["epoch"] == best[1]["epoch"]
    assert abs(best[0]["mean_macro_f1"] - best[1]["mean_macro_f1"]) < 1e-6
