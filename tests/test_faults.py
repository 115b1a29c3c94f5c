"""`detente score` killed with SIGKILL mid-run and run again: every input article is in the
final output exactly once, for JSONL, CSV and Parquet output."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

DETENTE = Path(sys.executable).parent / "detente"
ARTICLES = 800


def write_input(path: Path) -> list[str]:
    ids = [f"a{i:05d}" for i in range(ARTICLES)]
    with path.open("w", encoding="utf-8") as handle:
        for number, article_id in enumerate(ids):
            text = (
                f"Envoys met in city {number} on Monday. They agreed to talk again, "
                f"officials said. No ceasefire was announced for region {number}."
            )
            handle.write(json.dumps({"id": article_id, "text": text}) + "\n")
    return ids


def output_ids(path: Path, fmt: str) -> list[str]:
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        ids = [row["id"] for row in rows if int(row["sentence_index"]) == 0]
        for article_id in set(ids):  # every sentence of an article is there once
            indices = sorted(int(r["sentence_index"]) for r in rows if r["id"] == article_id)
            assert indices == list(range(len(indices))), article_id
        return ids
    return [str(x) for x in pq.read_table(path, columns=["id"]).column("id").to_pylist()]


def started_writing(output: Path, fmt: str) -> bool:
    watched = output.with_name(f".{output.name}.partial") if fmt == "parquet" else output
    threshold = 1024 if fmt == "parquet" else 64 * 1024  # parquet: after its first row group
    return watched.exists() and watched.stat().st_size > threshold


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_killed_score_run_resumes_without_loss_or_duplicates(
    tiny_model_dir: Path, tmp_path: Path, fmt: str
) -> None:
    source = tmp_path / "in.jsonl"
    ids = write_input(source)
    output = tmp_path / f"out.{fmt}"
    command = [str(DETENTE), "score", str(source), "-o", str(output), "-m", str(tiny_model_dir)]
    log = (tmp_path / "first.log").open("w+")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 240
    while not started_writing(output, fmt) and process.poll() is None:
        assert time.monotonic() < deadline, "the first run never started writing"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.returncode != -signal.SIGKILL:
        log.seek(0)
        pytest.fail(f"the run ended before it could be killed: {log.read()[-1000:]!r}")
    if fmt != "parquet":  # parquet output appears whole on close, never half
        assert len(output.read_bytes()) > 0
    else:
        assert not output.exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    found = output_ids(output, fmt)
    assert sorted(found) == ids  # each article exactly once
