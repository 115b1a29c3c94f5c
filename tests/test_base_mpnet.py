"""The packaged all-mpnet-base-v2 base: clear errors for missing pieces and a wrong hash, and the
shipped accurate model (integration, where the mpnet extra is installed)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from detente.model import base
from detente.model.base import BaseModelError

ROOT = Path(__file__).resolve().parents[1]


def _mpnet_installed() -> bool:
    try:
        for package in base.MPNET_PARTS:
            metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_missing_pieces_name_the_packages_and_the_extra(monkeypatch, tmp_path) -> None:
    def missing(name: str):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(base.metadata, "distribution", missing)
    monkeypatch.setenv("DETENTE_CACHE", str(tmp_path))
    base.mpnet_path.cache_clear()
    try:
        with pytest.raises(BaseModelError, match=r"part-001.*part-005.*\.\[mpnet\]"):
            base.resolve_base_path(base.MPNET)
    finally:
        base.mpnet_path.cache_clear()


def test_wrong_hash_is_refused_before_loading(monkeypatch, tmp_path) -> None:
    folder = tmp_path / "bases" / base.MPNET
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"not the real weights")
    monkeypatch.setenv("DETENTE_CACHE", str(tmp_path))
    base.mpnet_path.cache_clear()
    try:
        with pytest.raises(BaseModelError, match="is not the pinned"):
            base.resolve_base_path(base.MPNET)
    finally:
        base.mpnet_path.cache_clear()


@pytest.mark.integration
@pytest.mark.skipif(not _mpnet_installed(), reason="mpnet extra not installed (.[mpnet])")
@pytest.mark.skipif(
    not (ROOT / "model" / "accurate" / "detente_config.json").is_file(),
    reason="model/accurate not built",
)
def test_accurate_model_scores_clear_cases() -> None:
    from detente.serving import Scorer

    scorer = Scorer.load("accurate")
    assert scorer.config.base.name == base.MPNET
    scores = scorer.score_sentences(
        [
            "Both governments said they were ready to resume peace talks next week.",
            "The president vowed never to negotiate and said the enemy can only be defeated on the battlefield.",
            "The museum reopened on Sunday after renovation works.",
        ]
    )
    assert [s.stance.label for s in scores] == ["favor", "against", "none"]
