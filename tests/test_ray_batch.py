"""`detente batch` on Ray Data: same records as the local scorer, resume after a kill, bad input.

One local Ray instance serves the whole module (start-ups are slow on 2 cores); the kill test's
subprocess connects to it with --address.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT
from typer.testing import CliRunner

from detente.serving import ray_batch
from detente.serving.cli import app
from detente.serving.results import ArticleResult, SentenceResult

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install -e '.[ray]')",
)
DETENTE = Path(sys.executable).parent / "detente"
EXAMPLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
HTML = (
    "<html><body><article><h1>Envoys Meet in Oslo</h1><p>The envoys met on Monday. "
    "They agreed to talk again.</p></article></body></html>"
)


@pytest.fixture(scope="module")
def ray_address() -> str:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")
    import ray

    started = ray_batch.start_ray(None, num_cpus=3)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def read_rows(out_dir: Path) -> dict[str, list[dict]]:
    return {
        str(p.relative_to(out_dir)): pq.read_table(p).to_pylist()
        for p in sorted(out_dir.rglob("*.parquet"))
    }


def article_ids(rows: list[dict]) -> list[str]:
    """One id per article: its first sentence row, or its only row when it has no sentences."""
    return [r["id"] for r in rows if r["sentence_index"] in (0, None)]


# --------------------------------------------------------------------------- without Ray


def test_output_columns_cover_every_result_field() -> None:
    schema = ray_batch.output_schema(["none", "against", "favor"], ["neg", "neu", "pos"])
    for f in dataclasses.fields(SentenceResult):
        assert f.name in schema.names
    for f in dataclasses.fields(ArticleResult):
        if f.name not in ray_batch.ARTICLE_FIELDS_LEFT_OUT:
            assert f.name in schema.names or f"article_{f.name}" in schema.names
    probs = schema.field("stance").type.field("probs").type
    assert [probs.field(i).name for i in range(probs.num_fields)] == ["none", "against", "favor"]


def test_jsonl_problems_name_file_line_and_field() -> None:
    data = (
        b'{"id": 1, "text": "Fine."}\n'
        b"\n"
        b'{"id": 2}\n'
        b"{oops\n"
        b'{"id": 1, "text": "Again."}\n'
        b'{"text": "No id."}\n'
        b'"just a string"\n'
        b'{"id": 3, "text": "\xff"}\n'
        b'{"id": 4, "text": "Last, without a newline."}'
    )
    rows = list(ray_batch.jsonl_records(io.BytesIO(data), "/abs/a.jsonl", "in/a.jsonl"))
    assert [(r["_kind"], r["_line"], r["id"]) for r in rows if r["_kind"] == "article"] == [
        ("article", 1, "1"),
        ("article", 9, "4"),
    ]
    assert [r["_error"] for r in rows if r["_kind"] == "error"] == [
        "in/a.jsonl:3: field 'text' is missing or not text",
        "in/a.jsonl:4: invalid JSON (Expecting property name enclosed in double quotes, column 2)",
        "in/a.jsonl:5: field 'id': duplicate id '1' (first at line 1)",
        "in/a.jsonl:6: field 'id' is missing or empty",
        "in/a.jsonl:7: expected a JSON object, got str",
        "in/a.jsonl:8: not UTF-8 text (byte 19 of the line)",
    ]
    assert rows[-1]["_kind"] == "end" and rows[-1]["_line"] == 2


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ray_batch.RayMissingError, match=r"pip install -e '\.\[ray\]'"):
        ray_batch.import_ray()


def test_cli_rejects_a_missing_input_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["batch", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nope: not a directory" in result.output


# --------------------------------------------------------------------------- on Ray


@needs_ray
def test_ray_output_equals_local_scorer(ray_address: str, tiny_model_dir: Path, tmp_path: Path):
    from detente.serving.scorer import Scorer

    records = [
        {"id": "example", "text": EXAMPLE},
        {"id": 7, "text": "Talks resumed in Geneva. Both sides were hopeful.\n\nNo deal yet."},
        {"id": "html", "text": HTML},
        {"id": "empty", "text": ""},
    ]
    parquet_records = [
        {"id": "p1", "text": "No talks until the troops leave. The minister said so."},
        {"id": "p2", "text": "Envoys will meet again next week."},
    ]
    write_jsonl(tmp_path / "in" / "a.jsonl", records)
    (tmp_path / "in" / "sub").mkdir()
    pq.write_table(pa.Table.from_pylist(parquet_records), tmp_path / "in" / "sub" / "b.parquet")
    out = tmp_path / "out"

    summary = ray_batch.run_batch(
        tmp_path / "in", out, model=tiny_model_dir, workers=2, batch_size=4, report=pytest.fail
    )
    assert (summary.files_scored, summary.files_failed, summary.articles) == (2, 0, 6)

    scorer = Scorer.load(tiny_model_dir)
    local = {
        "a.parquet": scorer.score_articles(records),
        "sub/b.parquet": scorer.score_articles(parquet_records),
    }
    got = read_rows(out)
    assert sorted(got) == sorted(local)
    for name, results in local.items():
        rows = iter(got[name])
        for result in results:
            record = result.to_dict()
            for index, sentence in enumerate(record["sentences"] or [None]):
                row = next(rows)
                assert row["id"] == record["id"]
                for key in ("target", "sentiment_target", "source_format"):
                    assert row[key] == record[key]
                assert row["sentence_count"] == len(record["sentences"])
                if sentence is None:
                    assert row["sentence_index"] is None and row["stance"] is None
                    continue
                assert row["sentence_index"] == index
                for key, value in sentence.items():
                    if key in ("stance", "sentiment"):
                        assert row[key]["label"] == value["label"]
                        assert row[key]["probs"] == pytest.approx(value["probs"], abs=1e-5)
                    else:
                        assert row[key] == value, key
        assert next(rows, None) is None

    stamp = (out / "a.parquet").stat().st_mtime_ns
    again = ray_batch.run_batch(tmp_path / "in", out, model=tiny_model_dir, report=pytest.fail)
    assert (again.files_scored, again.files_skipped) == (0, 2)
    assert (out / "a.parquet").stat().st_mtime_ns == stamp


@needs_ray
def test_bad_files_are_reported_and_get_no_output(
    ray_address: str, tiny_model_dir: Path, tmp_path: Path
):
    source = tmp_path / "in"
    write_jsonl(source / "good.jsonl", [{"id": "g", "text": "Talks resumed."}])
    (source / "bad.jsonl").write_text(
        '{"id": "x", "text": "Fine."}\n{"id": "y", "body": "wrong field"}\n', encoding="utf-8"
    )
    pq.write_table(pa.table({"text": ["No id column."]}), source / "noid.parquet")
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["Fine.", None]}), source / "null.parquet")
    (source / "broken.parquet").write_bytes(b"not parquet at all")

    problems: list[str] = []
    summary = ray_batch.run_batch(
        source, tmp_path / "out", model=tiny_model_dir, report=problems.append
    )
    assert (summary.files_scored, summary.files_failed) == (1, 4)
    assert sorted(read_rows(tmp_path / "out")) == ["good.parquet"]
    assert f"{source / 'bad.jsonl'}:2: field 'text' is missing or not text" in problems
    assert f"{source / 'noid.parquet'}: no 'id' column (columns: text)" in problems
    assert f"{source / 'null.parquet'}:row 2: field 'text' is missing or not text" in problems
    assert any(p.startswith(f"{source / 'broken.parquet'}: unreadable Parquet") for p in problems)
    assert all("\n" not in p for p in problems)
    assert not list((tmp_path / "out").rglob(".*partial"))


@needs_ray
def test_kill_part_way_then_rerun_gives_every_article_once(
    ray_address: str, tiny_model_dir: Path, tmp_path: Path
):
    source, out = tmp_path / "in", tmp_path / "out"
    sentences = [s + "." for s in EXAMPLE.split(".") if s.strip()][:12]
    expected = []
    for f in range(8):
        records = [
            {"id": f"f{f}-{i}", "text": " ".join(sentences[i % 5 : i % 5 + 6])} for i in range(40)
        ]
        write_jsonl(source / f"part-{f}.jsonl", records)
        expected += [r["id"] for r in records]

    command = [str(DETENTE), "batch", str(source), "-o", str(out), "--address", ray_address]
    command += ["--workers", "1", "--model", str(tiny_model_dir), "--batch-size", "4"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 300  # a generous bound for a busy machine
    try:
        while not list(out.glob("*.parquet")) and process.poll() is None:
            assert time.monotonic() < deadline, "no output file appeared within 300 s"
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        stderr = process.communicate()[1].decode(errors="replace")
    assert process.returncode == -signal.SIGKILL, stderr

    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet")}
    assert 0 < len(before) < 8, "the run should be killed part way"
    for rows in read_rows(out).values():  # what is visible under a final name is whole
        assert len(article_ids(rows)) == 40

    summary = ray_batch.run_batch(source, out, model=tiny_model_dir, report=pytest.fail)
    assert summary.files_skipped == len(before)
    assert summary.files_scored == 8 - len(before)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.parquet") if p.name in before} == (
        before
    )
    ids = [i for rows in read_rows(out).values() for i in article_ids(rows)]
    assert Counter(ids) == Counter(expected)
    assert not list(out.rglob(".*partial"))
