"""Saving and loading a detente model directory (safetensors + JSON; nothing is unpickled).

A directory holds `detente_config.json`, `model.safetensors` and the tokenizer files. By default
only the parameters that training changed are stored (heads, LoRA adapters, unfrozen encoder
layers); the rest is read from the base encoder, whose hash is checked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import PreTrainedTokenizerBase

from detente.model.base import base_sha256, resolve_base_path
from detente.model.config import CONFIG_NAME, WEIGHTS_NAME, DetenteConfig
from detente.model.errors import ModelLoadError
from detente.model.manifest import verify_manifest, write_manifest
from detente.model.modeling import DetenteModel, load_tokenizer

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

__all__ = ["ModelLoadError", "load_model", "replace_directory", "save_model"]


def _state_to_save(model: DetenteModel) -> dict[str, torch.Tensor]:
    if model.config.saved_parameters == "all":
        return dict(model.state_dict())
    trainable = {name for name, param in model.named_parameters() if param.requires_grad}
    return {name: tensor for name, tensor in model.state_dict().items() if name in trainable}


def save_model(
    model: DetenteModel, tokenizer: PreTrainedTokenizerBase, directory: Path | str
) -> Path:
    """Write the model directory atomically (a kill leaves the old directory or the new one),
    with a manifest.json of its files' SHA-256."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    dtype = DTYPES[model.config.saved_dtype]
    state = {
        name: tensor.detach()
        .to("cpu", dtype if tensor.is_floating_point() else tensor.dtype)
        .contiguous()
        .clone()
        for name, tensor in _state_to_save(model).items()
    }
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        save_file(state, str(staging / WEIGHTS_NAME), metadata={"format": "pt"})
        tokenizer.save_pretrained(staging)
        model.config.to_json_file(staging / CONFIG_NAME)
        write_manifest(staging)
        replace_directory(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_directory(staging: Path, directory: Path) -> None:
    """Move `staging` to `directory`, replacing any previous content with two renames.

    The staging directory comes from mkdtemp (mode 0700): permissions are reset to the usual
    umask-based ones first, so a model written by one user can be read by others.
    """
    mask = _umask()
    os.chmod(staging, 0o777 & ~mask)
    for path in staging.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
    old = None
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
    os.replace(staging, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_model(
    directory: Path | str, merge_adapters: bool = True
) -> tuple[DetenteModel, PreTrainedTokenizerBase]:
    """Load a model saved by `save_model`, ready for inference (eval mode).

    Every file listed in the directory's manifest.json is checked against its SHA-256 first.
    """
    directory = Path(directory)
    config_path = directory / CONFIG_NAME
    if not directory.is_dir():
        raise ModelLoadError(f"model directory {directory} does not exist")
    if not config_path.is_file():
        raise ModelLoadError(f"{directory} is not a detente model: {CONFIG_NAME} is missing")
    verify_manifest(directory)
    try:
        config = DetenteConfig.from_json_file(config_path)
    except (ValueError, TypeError) as exc:
        raise ModelLoadError(f"{config_path}: {exc}") from exc
    weights = directory / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelLoadError(f"{directory} is incomplete: {WEIGHTS_NAME} is missing")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{weights} is unreadable or truncated: {exc}") from exc

    full = config.saved_parameters == "all"
    if not full:
        actual = base_sha256(resolve_base_path(config.base.name))
        if actual != config.base.sha256:
            raise ModelLoadError(
                f"{directory} was trained on base encoder {config.base.name!r} with weights "
                f"sha256 {config.base.sha256[:12]}..., but the installed one has {actual[:12]}..."
            )
    model = DetenteModel.from_base(config, load_weights=not full)
    expected = set(model.state_dict())
    unknown = sorted(set(state) - expected)
    if unknown:
        raise ModelLoadError(f"{weights} has parameters this model does not: {unknown[:5]}")
    if full and set(state) != expected:
        missing = sorted(expected - set(state))
        raise ModelLoadError(f"{weights} is incomplete: missing {missing[:5]}")
    reference = model.state_dict()
    state = {name: tensor.to(reference[name].dtype) for name, tensor in state.items()}
    model.load_state_dict(state, strict=False)
    if merge_adapters:
        model.merge_adapters()
    model.eval()
    try:
        tokenizer = load_tokenizer(directory)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{directory}: tokenizer files are missing or broken: {exc}") from exc
    return model, tokenizer
