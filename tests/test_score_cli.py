from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SHARED_DATA, needs_shared
from typer.testing import CliRunner

from detente.serving.cli import app

DETENTE = Path(sys.executable).parent / "detente"
EXAMPLE = ROOT / "examples" / "article.txt"
HTML = (
    "<html><head><title>Envoys Meet</title></head><body><article><h1>Envoys Meet in Oslo</h1>"
    "<p>The envoys met on Monday. They agreed to talk again.</p></article></body></html>"
)


@pytest.fixture()
def run(tiny_model_dir: Path):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, ["score", *args, "--model", str(tiny_model_dir)], input=input)

    return invoke


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def check_record(record: dict) -> None:
    for s in record["sentences"]:
        assert record["text"][s["start"] : s["end"]] == s["text"]
    assert record["summary"]["sentences"] == len(record["sentences"])


def make_articles(directory: Path) -> Path:
    (directory / "sub").mkdir(parents=True)
    (directory / ".hidden").mkdir()
    (directory / "a.txt").write_text("Talks resumed in Geneva. Both sides were hopeful.\n")
    (directory / "b.html").write_text(HTML)
    (directory / "sub" / "c.txt").write_text("No talks until the troops leave.")
    (directory / ".hidden" / "x.txt").write_text("Not read.")
    (directory / "notes.bin").write_bytes(b"\x00\x01")
    return directory


def test_text_html_and_directory_inputs(run, tmp_path: Path) -> None:
    articles = make_articles(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    result = run(str(articles), str(EXAMPLE), "--output", str(out))
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    ids = [r["id"] for r in records]
    assert ids == [
        str(articles / "a.txt"),
        str(articles / "b.html"),
        str(articles / "sub" / "c.txt"),
        str(EXAMPLE),
    ]
    by_id = dict(zip(ids, records, strict=True))
    assert by_id[str(articles / "b.html")]["source_format"] == "html"
    assert by_id[str(articles / "b.html")]["sentences"][0]["text"] == "Envoys Meet in Oslo"
    example = by_id[str(EXAMPLE)]
    assert example["summary"]["boilerplate_sentences"] == 12
    for record in records:
        check_record(record)
    assert "4 articles scored, 0 skipped" in result.stderr


def test_record_inputs_jsonl_csv_parquet(run, tmp_path: Path) -> None:
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text(
        json.dumps({"id": "j1", "text": "Talks resumed. Both sides were hopeful."})
        + "\n\n"
        + json.dumps({"text": "An article without an id."})
        + "\n"
    )
    with (tmp_path / "r.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "other"])
        writer.writerow(["c1", 'He said "no talks."\nThen he left.', "x"])
        writer.writerow([7, "Second row.", "y"])
    pq.write_table(
        pa.table({"id": ["p1", "p2"], "text": ["A parquet article. Two sentences.", HTML]}),
        tmp_path / "r.parquet",
    )
    out = tmp_path / "out.csv"
    result = run(str(jsonl), str(tmp_path / "r.csv"), str(tmp_path / "r.parquet"), "-o", str(out))
    assert result.exit_code == 0, result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ids = list(dict.fromkeys(row["id"] for row in rows))
    assert ids == ["j1", f"{jsonl}:3", "c1", "7", "p1", "p2"]
    for row in rows:
        assert int(row["sentence_count"]) == sum(r["id"] == row["id"] for r in rows)
        probs = [float(row[f"stance_{label}"]) for label in ("none", "against", "favor")]
        assert abs(sum(probs) - 1) < 1e-3
        assert row["stance"] in ("none", "against", "favor")
    c1 = [row for row in rows if row["id"] == "c1"]
    assert [row["text"] for row in c1] == ['He said "no talks."', "Then he left."]


def test_parquet_output_and_resume(run, tmp_path: Path) -> None:
    articles = make_articles(tmp_path / "in")
    out = tmp_path / "out.parquet"
    first = run(str(articles / "a.txt"), "--output", str(out))
    assert first.exit_code == 0, first.output
    second = run(str(articles), "--output", str(out))
    assert second.exit_code == 0, second.output
    assert "2 articles scored, 1 skipped" in second.stderr
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == [
        str(articles / "a.txt"),
        str(articles / "b.html"),
        str(articles / "sub" / "c.txt"),
    ]
    row = table.slice(1, 1).to_pylist()[0]
    check_record(row)
    assert set(row["sentences"][0]["stance"]["probs"]) == {"none", "against", "favor"}
    assert row["summary"]["overall_stance"] in ("none", "favor", "against", "mixed")
    assert not list(tmp_path.glob(".out.parquet*"))


def test_parquet_resume_after_ctrl_c(run, tmp_path: Path, monkeypatch) -> None:
    from detente.serving import score_cli

    articles = make_articles(tmp_path / "in")
    out = tmp_path / "out.parquet"
    write = score_cli.ParquetSink.write
    calls = []

    def interrupted(self, result) -> None:
        calls.append(result.id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        write(self, result)

    monkeypatch.setattr(score_cli.ParquetSink, "write", interrupted)
    first = run(str(articles), "-o", str(out))
    assert first.exit_code == 130 and "run again to resume" in first.stderr
    assert pq.read_table(out).column("id").to_pylist() == [str(articles / "a.txt")]
    monkeypatch.setattr(score_cli.ParquetSink, "write", write)
    again = run(str(articles), "-o", str(out))
    assert "2 articles scored, 1 skipped" in again.stderr
    assert pq.read_table(out).num_rows == 3


def test_jsonl_resume_after_an_interrupt(run, tmp_path: Path) -> None:
    articles = make_articles(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    assert run(str(articles / "a.txt"), "-o", str(out)).exit_code == 0
    with out.open("a") as handle:  # a write cut short by a kill
        handle.write('{"id": "' + str(articles / "b.html") + '", "sentences": [{"te')
    again = run(str(articles), "-o", str(out))
    assert again.exit_code == 0, again.output
    assert "2 articles scored, 1 skipped" in again.stderr
    ids = [r["id"] for r in read_jsonl(out)]
    assert len(ids) == len(set(ids)) == 3
    third = run(str(articles), "-o", str(out))
    assert "0 articles scored, 3 skipped" in third.stderr
    assert len(read_jsonl(out)) == 3


def test_csv_resume_drops_a_half_written_article(run, tmp_path: Path) -> None:
    articles = make_articles(tmp_path / "in")
    out = tmp_path / "out.csv"
    assert run(str(articles / "a.txt"), str(articles / "b.html"), "-o", str(out)).exit_code == 0
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:-1]))  # the HTML article lost its last sentence row
    again = run(str(articles), "-o", str(out))
    assert again.exit_code == 0, again.output
    assert "2 articles scored, 1 skipped" in again.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = [(row["id"], row["sentence_index"]) for row in rows]
    assert len(keys) == len(set(keys))
    assert {row["id"] for row in rows} == {
        str(articles / "a.txt"),
        str(articles / "b.html"),
        str(articles / "sub" / "c.txt"),
    }


def test_unreadable_inputs_are_reported_and_skipped(run, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Talks resumed.")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Pourparlers à Genève.".encode("latin-1"))
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text(
        '{"id": "ok", "text": "Fine."}\n{"id": "broken", "text": \n{"id": 3}\n'
        '{"id": "ok", "text": "Same id again."}\n'
    )
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("id,body\n1,hello\n")
    broken_parquet = tmp_path / "broken.parquet"
    broken_parquet.write_bytes(b"PAR1 not really")
    out = tmp_path / "out.jsonl"
    result = run(
        str(good), str(latin), str(bad_jsonl), str(no_text), str(broken_parquet),
        str(tmp_path / "missing.txt"), "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"error: {latin}: not UTF-8 text (byte 12)" in errors
    assert any(line.startswith(f"error: {bad_jsonl}:2: invalid JSON") for line in errors)
    assert f"error: {bad_jsonl}:3: field 'text' is missing or not a string" in errors
    assert f"error: {no_text}: no 'text' column (columns: id, body)" in errors
    assert any(line.startswith(f"error: {broken_parquet}: unreadable Parquet") for line in errors)
    assert f"error: {tmp_path / 'missing.txt'}: no such file or directory" in errors
    assert "error: ok: duplicate id; only its first article is scored" in errors
    assert len(errors) == 7
    assert "Traceback" not in result.output
    assert [r["id"] for r in read_jsonl(out)] == [str(good), "ok"]


def test_table_format(run) -> None:
    result = run(str(EXAMPLE), "--format", "table")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[boilerplate: byline] By Staff Correspondent" in out
    assert "[boilerplate: donation_appeal]" in out
    assert "Summary over 16 body sentences (12 boilerplate left out)" in out
    assert "overall stance:" in out and "most favor:" in out and "most against:" in out


def test_bad_options_and_model(run, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["score", str(EXAMPLE), "--model", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:") and "detente_config.json" in result.stderr
    parquet_to_stdout = run(str(EXAMPLE), "--format", "parquet")
    assert parquet_to_stdout.exit_code == 2 and "needs --output" in parquet_to_stdout.stderr


def test_stdin_text_and_jsonl(tiny_model_dir: Path) -> None:
    command = [str(DETENTE), "score", "-", "--model", str(tiny_model_dir)]
    text = subprocess.run(
        command, input="Talks resumed. By AFP", capture_output=True, text=True, timeout=300
    )
    assert text.returncode == 0, text.stderr
    record = json.loads(text.stdout)
    assert record["id"].startswith("stdin-") and len(record["sentences"]) == 2
    assert record["sentences"][1]["boilerplate_reason"] == "byline"
    lines = "\n".join(json.dumps({"id": f"s{i}", "text": f"Round {i} began."}) for i in range(3))
    jsonl = subprocess.run(
        command + ["--format", "csv"], input=lines, capture_output=True, text=True, timeout=300
    )
    assert jsonl.returncode == 0, jsonl.stderr
    rows = list(csv.DictReader(jsonl.stdout.splitlines()))
    assert [row["id"] for row in rows] == ["s0", "s1", "s2"]


@pytest.mark.integration
@needs_shared
def test_real_page_copy_marks_its_clutter(run, tmp_path: Path) -> None:
    page = SHARED_DATA / "examples" / "moscow_times_2024-09-25_page.txt"
    out = tmp_path / "page.jsonl"
    result = run(str(page), "-o", str(out))
    assert result.exit_code == 0, result.output
    (record,) = read_jsonl(out)
    check_record(record)
    reasons = {s["text"]: s["boilerplate_reason"] for s in record["sentences"]}
    assert reasons["By AFP"] == "byline"
    assert reasons["Arthur Novosiltsev / Moskva News Agency"] == "photo_caption"
    assert reasons["Original url:"] == "source_url"
    assert record["summary"]["boilerplate_sentences"] == 7
    assert record["summary"]["body_sentences"] == 13
