"""The round-2 double annotation: every item is in the corpus with its settled label, and the
agreement report computes kappa per class and per conflict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detente.training.agreement import agreement_report, format_report, head_agreement
from detente.training.negotiation_corpus import read_entries

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "negotiation_stance"
ROUND2 = CORPUS / "agreement" / "round2_double_annotation.jsonl"


def test_settled_labels_are_the_corpus_labels() -> None:
    rows = [json.loads(line) for line in ROUND2.read_text().splitlines()]
    corpus = {e.id: e.data for e in read_entries(CORPUS)}
    assert len(rows) >= 300
    for row in rows:
        assert row["id"] in corpus, row["id"]
        assert corpus[row["id"]]["stance"] == row["stance"], row["id"]
        assert corpus[row["id"]]["sentiment"] == row["sentiment"], row["id"]
    # Where both passes agree, the settled label is theirs.
    for row in rows:
        if row["stance_1"] == row["stance_2"] and row["sentiment_1"] == row["sentiment_2"]:
            assert (row["stance"], row["sentiment"]) == (row["stance_1"], row["sentiment_1"])


def test_report_has_per_class_and_per_conflict_kappa() -> None:
    report = agreement_report(ROUND2, CORPUS)
    stance = report["stance"]
    assert stance["all"]["n"] >= 300
    assert set(stance["all"]["per_class"]) == {"favor", "against", "none"}
    assert "russia_ukraine" in stance["conflicts"] and "israel_gaza" in stance["conflicts"]
    assert "kappa" in format_report(report)


def test_head_agreement_on_a_known_case() -> None:
    rows = [
        {"stance_1": "favor", "stance_2": "favor"},
        {"stance_1": "against", "stance_2": "none"},
        {"stance_1": "none", "stance_2": "none"},
        {"stance_1": "against", "stance_2": "against"},
    ]
    result = head_agreement(rows, "stance")
    assert result["agreement"] == pytest.approx(0.75)
    assert result["per_class"]["favor"] == pytest.approx(1.0)
    assert 0 < result["kappa"] < 1
