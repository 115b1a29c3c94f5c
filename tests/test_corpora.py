from __future__ import annotations

import json
from pathlib import Path

import pytest

from detente.training.corpora import CorpusConfig, DataError, load_corpus, load_data_spec
from detente.training.training_args import load_config


def corpus(tmp_path: Path, name: str, content: str | bytes, **kwargs) -> CorpusConfig:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    fmt = kwargs.pop("format", path.suffix.lstrip("."))
    return CorpusConfig(name="c", format=fmt, files={"train": str(path)}, **kwargs)


def test_csv_with_label_mapping_and_fixed_target(tmp_path: Path) -> None:
    cfg = corpus(
        tmp_path,
        "a.csv",
        'Tweet,Stance\n"Talk, now",FAVOR\nNo deal,AGAINST\n',
        text_column="Tweet",
        stance_column="Stance",
        stance_map={"FAVOR": "favor", "AGAINST": "against"},
        target="Joe Biden",
    )
    records = load_corpus(cfg, "train")
    assert [(r.text, r.stance, r.target) for r in records] == [
        ("Talk, now", "favor", "Joe Biden"),
        ("No deal", "against", "Joe Biden"),
    ]


def test_tsv_and_unknown_label_names_file_line_and_field(tmp_path: Path) -> None:
    cfg = corpus(tmp_path, "a.tsv", "text\tsentiment\nok\tpositive\nbad\tgreat\n")
    cfg.views[0].sentiment_column = "sentiment"
    with pytest.raises(DataError, match=r"a\.tsv:3: field 'sentiment': unknown label 'great'"):
        load_corpus(cfg, "train")


def test_jsonl_explode_with_match_and_numeric_label_map(tmp_path: Path) -> None:
    rows = [
        {
            "primary_gid": "g2",
            "sentence_normalized": "Obama praised the deal.",
            "targets": [
                {"Input.gid": "g1", "mention": "deal", "polarity": 4.0},
                {"Input.gid": "g2", "mention": "Obama", "polarity": 6.0},
            ],
        }
    ]
    cfg = corpus(
        tmp_path,
        "n.jsonl",
        "\n".join(json.dumps(r) for r in rows),
        text_column="sentence_normalized",
        target_column="mention",
        sentiment_column="polarity",
        sentiment_map={"2.0": "negative", "4.0": "neutral", "6.0": "positive"},
        explode="targets",
        explode_match={"Input.gid": "primary_gid"},
    )
    [record] = load_corpus(cfg, "train")
    assert (record.target, record.sentiment, record.stance) == ("Obama", "positive", None)


def test_bad_json_line_is_reported(tmp_path: Path) -> None:
    cfg = corpus(
        tmp_path, "b.jsonl", '{"text": "a", "stance": "none"}\n{"text": \n', stance_column="stance"
    )
    with pytest.raises(DataError, match=r"b\.jsonl:2: invalid JSON"):
        load_corpus(cfg, "train")


def test_lines_format_with_regex_and_latin1(tmp_path: Path) -> None:
    content = "Profit rose 5 % in Malm\xf6 .@positive\nSales fell .@negative\n".encode("latin-1")
    cfg = corpus(
        tmp_path,
        "fpb.txt",
        content,
        format="lines",
        line_pattern=r"^(?P<text>.*)@(?P<label>\w+)$",
        sentiment_column="label",
        encoding="latin-1",
    )
    records = load_corpus(cfg, "train")
    assert [r.sentiment for r in records] == ["positive", "negative"]
    assert "Malmö" in records[0].text


def test_wrong_encoding_is_reported_with_line(tmp_path: Path) -> None:
    cfg = corpus(
        tmp_path,
        "x.txt",
        "fine@neutral\nMalm\xf6@neutral\n".encode("latin-1"),
        format="lines",
        line_pattern=r"^(?P<text>.*)@(?P<label>\w+)$",
        sentiment_column="label",
    )
    with pytest.raises(DataError, match=r"x\.txt:2: cannot decode as utf-8"):
        load_corpus(cfg, "train")


def test_parallel_text_and_label_files(tmp_path: Path) -> None:
    (tmp_path / "train_labels.txt").write_text("2\n1\n")
    cfg = corpus(
        tmp_path,
        "train_text.txt",
        "we should talk\nnever\n",
        format="parallel",
        label_file=["_text", "_labels"],
        stance_column="label",
        stance_map={"0": "none", "1": "against", "2": "favor"},
        target="Atheism",
    )
    assert [r.stance for r in load_corpus(cfg, "train")] == ["favor", "against"]
    (tmp_path / "train_labels.txt").write_text("2\n")
    with pytest.raises(DataError, match="2 lines but train_labels.txt has 1 labels"):
        load_corpus(cfg, "train")


def test_parquet_and_datasets_directory(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["a b", "c d"], "stance": ["favor", "none"]})
    pq.write_table(table, tmp_path / "p.parquet")
    cfg = CorpusConfig(
        name="p",
        format="parquet",
        files={"train": str(tmp_path / "p.parquet")},
        stance_column="stance",
    )
    assert [r.stance for r in load_corpus(cfg, "train")] == ["favor", "none"]
    datasets.Dataset.from_dict(table.to_pydict()).save_to_disk(str(tmp_path / "ds"))
    cfg = CorpusConfig(
        name="d", format="datasets", files={"train": str(tmp_path / "ds")}, stance_column="stance"
    )
    assert [r.text for r in load_corpus(cfg, "train")] == ["a b", "c d"]


def test_several_views_per_row(tmp_path: Path) -> None:
    cfg = corpus(
        tmp_path,
        "ruw.csv",
        "Tweet,Target 1,Stance 1,Target 2,Stance 2\nPeace now,Russia,AGAINST,Ukraine,NONE\n",
        text_column="Tweet",
        views=[
            {"target_column": "Target 1", "stance_column": "Stance 1"},
            {"target_column": "Target 2", "stance_column": "Stance 2"},
        ],
        stance_map={"AGAINST": "against", "NONE": "none", "FAVOR": "favor"},
    )
    records = load_corpus(cfg, "train")
    assert [(r.target, r.stance) for r in records] == [("Russia", "against"), ("Ukraine", "none")]


def test_empty_text_and_missing_column_are_errors(tmp_path: Path) -> None:
    cfg = corpus(tmp_path, "e.csv", "text,stance\n,favor\n", stance_column="stance")
    with pytest.raises(DataError, match=r"e\.csv:2: field 'text': empty text"):
        load_corpus(cfg, "train")
    cfg = corpus(tmp_path, "m.csv", "body,stance\nhi,favor\n", stance_column="stance")
    with pytest.raises(DataError, match=r"m\.csv:2: no column 'text'"):
        load_corpus(cfg, "train")


def test_dev_fraction_is_deterministic_and_disjoint(tmp_path: Path) -> None:
    lines = "\n".join(f'{{"text": "statement {i}", "stance": "none"}}' for i in range(200))
    cfg = corpus(tmp_path, "s.jsonl", lines, stance_column="stance", dev_fraction=0.2)
    train, dev = load_corpus(cfg, "train"), load_corpus(cfg, "dev")
    assert len(train) + len(dev) == 200 and 20 < len(dev) < 60
    assert not {r.text for r in train} & {r.text for r in dev}
    assert [r.text for r in load_corpus(cfg, "dev")] == [r.text for r in dev]


def test_data_spec_from_canonical_file(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text('{"text": "a", "target": "negotiations", "stance": "favor"}\n')
    [record] = load_data_spec(path)
    assert (record.stance, record.sentiment, record.target) == ("favor", None, "negotiations")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="no records"):
        load_data_spec(tmp_path / "empty.jsonl")


def test_config_rejects_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  epochz: 3\n")
    with pytest.raises(DataError, match="unknown field.*epochz"):
        load_config(path)


def test_shipped_configs_load() -> None:
    root = Path(__file__).resolve().parents[1] / "configs"
    for path in root.glob("*.yaml"):
        config = load_config(path)
        assert config.corpora, path
