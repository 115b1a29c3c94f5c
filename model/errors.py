"""Errors of model loading, in a module without torch so every backend can raise them."""

from __future__ import annotations


class ModelLoadError(RuntimeError):
    """A directory that is not a (complete, intact) detente model."""


class ManifestError(ModelLoadError):
    """A model file whose SHA-256 differs from the one recorded in manifest.json (or is gone)."""
