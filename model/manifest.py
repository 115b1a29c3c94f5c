"""`manifest.json`: the SHA-256 of every file of a model directory, checked at load.

`write_manifest(DIR)` lists every regular file under DIR (hidden files, the manifest itself and
files readable only as pickles excepted: none is shipped) with its size and SHA-256.
`verify_manifest(DIR)` re-hashes each listed file and raises `ManifestError` naming the first
file that is missing or differs. A directory without a manifest loads with a warning (models
written before manifests existed); `save_model` writes one for every new model, and
`detente manifest DIR` writes one for an existing directory.

Files added to a model directory after its manifest (an ONNX export, say) are not checked here:
ONNX exports carry their own fingerprint of the model they came from.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from detente.model.errors import ManifestError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
# Model files are read only as safetensors and JSON; these formats would need unpickling.
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}
log = logging.getLogger(__name__)


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _model_files(directory: Path) -> list[Path]:
    files = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if relative.as_posix() == MANIFEST_NAME:
            continue
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise ManifestError(
                f"{path}: pickle-based files are never read; remove it from the model directory"
            )
        files.append(path)
    return files


def build_manifest(directory: Path | str) -> dict[str, Any]:
    directory = Path(directory)
    return {
        "version": MANIFEST_VERSION,
        "algorithm": "sha256",
        "files": {
            path.relative_to(directory).as_posix(): {
                "sha256": file_sha256(path),
                "bytes": path.stat().st_size,
            }
            for path in _model_files(directory)
        },
    }


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that a kill leaves the old file or the new one, never half."""
    path = Path(path)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o666 & ~mask)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def write_manifest(directory: Path | str) -> Path:
    """Write DIR/manifest.json (atomically) and return its path."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ManifestError(f"{directory}: not a directory")
    manifest = build_manifest(directory)
    path = directory / MANIFEST_NAME
    atomic_write_text(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()
        ):
            raise TypeError("field 'files' must map names to {sha256, bytes}")
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path}: not a valid manifest ({exc})") from None
    return manifest


def verify_manifest(directory: Path | str) -> bool:
    """Check every file listed in DIR/manifest.json; False when there is no manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        log.warning("%s has no %s: its files are not checked", directory, MANIFEST_NAME)
        return False
    for name, entry in manifest["files"].items():
        path = directory / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise ManifestError(f"{directory / MANIFEST_NAME}: file name {name!r} is outside")
        if not path.is_file():
            raise ManifestError(f"{path}: listed in {MANIFEST_NAME} but missing")
        size = entry.get("bytes")
        if isinstance(size, int) and path.stat().st_size != size:
            raise ManifestError(
                f"{path}: {path.stat().st_size} bytes, but {MANIFEST_NAME} records {size} "
                "(truncated or replaced)"
            )
        if file_sha256(path) != entry["sha256"]:
            raise ManifestError(
                f"{path}: SHA-256 differs from {MANIFEST_NAME} (the file was changed or damaged)"
            )
    return True
