"""ONNX Runtime execution of a detente model, and the export that writes its files.

`OnnxPredictor` needs numpy, `tokenizers` and `onnxruntime` only: it never imports torch, so
a scoring process that uses it starts in a fraction of a second and stays small. The export
(`export_onnx`, behind `detente export`) loads the model with torch, merges LoRA adapters and
writes one graph per precision: inputs `input_ids`, `attention_mask`, `token_type_ids` (int64,
batch x sequence), outputs `stance_logits` and `sentiment_logits` (the encoder runs once for
both heads).

Files, in the model directory or in a cache directory (`$DETENTE_CACHE_DIR`, else
`$XDG_CACHE_HOME/detente`, else `~/.cache/detente`, under `onnx/<fingerprint>`):
  model.onnx         fp32 graph, attention and layer norms fused for ONNX Runtime
  model.int8.onnx    the same with weights quantised to int8 (dynamic quantisation)
  onnx_export.json   the fingerprint of the model files it was exported from (so a retrained
                     model never runs on a stale graph) and the agreement measured with fp32
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CONFIG_NAME = "detente_config.json"  # = detente.model.config.CONFIG_NAME
WEIGHTS_NAME = "model.safetensors"
ONNX_NAME = "model.onnx"
ONNX_INT8_NAME = "model.int8.onnx"
EXPORT_INFO_NAME = "onnx_export.json"
OPSET = 17
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("stance_logits", "sentiment_logits")
ONNX_FILES = {"onnx": ONNX_NAME, "onnx-int8": ONNX_INT8_NAME}


class OnnxExportError(RuntimeError):
    """No usable ONNX export for a model, or the export failed."""


# -- where the files are ------------------------------------------------------------------------


def cache_root() -> Path:
    if os.environ.get("DETENTE_CACHE_DIR"):
        return Path(os.environ["DETENTE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "detente"


def model_fingerprint(directory: Path) -> str:
    """SHA-256 over the model's config and weights: what an export was made from."""
    digest = hashlib.sha256()
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        path = Path(directory) / name
        if not path.is_file():
            raise OnnxExportError(f"{directory} is not a detente model: {name} is missing")
        digest.update(name.encode() + b"\0")
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cache_dir_for(fingerprint: str) -> Path:
    return cache_root() / "onnx" / fingerprint[:20]


def read_export_info(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(directory) / EXPORT_INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def find_export(model_dir: Path | str) -> tuple[Path, dict[str, Any]] | None:
    """The directory holding an up-to-date export of `model_dir` (itself, or the cache), and
    its `onnx_export.json`; None when there is none, or only one made from other weights."""
    model_dir = Path(model_dir)
    fingerprint = model_fingerprint(model_dir)
    for directory in (model_dir, cache_dir_for(fingerprint)):
        info = read_export_info(directory)
        if info is not None and info.get("fingerprint") == fingerprint:
            return directory, info
    return None


def export_file(model_dir: Path | str, backend: str) -> Path | None:
    """The up-to-date ONNX file for `backend` ("onnx" or "onnx-int8"), or None."""
    found = find_export(model_dir)
    if found is None:
        return None
    directory, info = found
    name = info.get("files", {}).get(backend)
    if name and (directory / name).is_file():
        return directory / name
    return None


# -- inference ----------------------------------------------------------------------------------


def available_threads() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits.astype(np.float32, copy=False)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class PairTokenizer:
    """`[CLS] target [SEP] text [SEP]` (or `[CLS] text [SEP]`), truncating the text only, with
    the `tokenizers` library from the model's tokenizer.json: the ids transformers' tokenizer
    gives with `truncation="only_second"`, without importing transformers or torch."""

    def __init__(self, tokenizer_file: Path, max_length: int) -> None:
        from tokenizers import Tokenizer

        if not Path(tokenizer_file).is_file():
            raise OnnxExportError(f"{tokenizer_file} is missing (a fast tokenizer is needed)")
        raw = Path(tokenizer_file).read_text(encoding="utf-8")
        self.pair = Tokenizer.from_str(raw)
        self.pair.no_padding()
        self.pair.enable_truncation(max_length, strategy="only_second")
        self.single = Tokenizer.from_str(raw)
        self.single.no_padding()
        self.single.enable_truncation(max_length, strategy="longest_first")
        self.pad_id = self.pair.token_to_id("[PAD]") or 0
        self.pad_type_id = 0

    def encode(self, texts: Sequence[str], targets: Sequence[str | None]) -> list[Any]:
        if len(texts) != len(targets):
            raise ValueError(f"{len(texts)} texts but {len(targets)} targets")
        encodings: list[Any] = [None] * len(texts)
        paired = [i for i, target in enumerate(targets) if target]
        single = [i for i, target in enumerate(targets) if not target]
        if paired:
            pairs = [(targets[i], texts[i]) for i in paired]
            try:
                found = self.pair.encode_batch(pairs)
            except Exception:  # a target longer than max_length: truncate both, row by row
                found = [self._encode_pair(pair) for pair in pairs]
            for index, encoding in zip(paired, found, strict=True):
                encodings[index] = encoding
        if single:
            for index, encoding in zip(
                single, self.single.encode_batch([texts[i] for i in single]), strict=True
            ):
                encodings[index] = encoding
        return encodings

    def _encode_pair(self, pair: tuple[str, str]) -> Any:
        try:
            return self.pair.encode(*pair)
        except Exception:
            return self.single.encode(*pair)

    def pad(self, encodings: Sequence[Any], multiple: int = 1) -> dict[str, np.ndarray]:
        """Arrays for one batch, padded to its longest row (rounded up to `multiple`)."""
        width = max(len(e.ids) for e in encodings)
        width = -(-width // multiple) * multiple
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        types = np.full((len(encodings), width), self.pad_type_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            types[row, :n] = encoding.type_ids
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def session_options(threads: int | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, min(threads or available_threads(), available_threads()))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


class OnnxPredictor:
    """Stance and sentiment probabilities from an exported graph under ONNX Runtime (CPU)."""

    def __init__(
        self,
        model_dir: Path | str,
        onnx_file: Path | str | None = None,
        quantized: bool = True,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        from detente.model.config import DetenteConfig
        from detente.model.manifest import verify_manifest

        model_dir = Path(model_dir)
        self.name = "onnx-int8" if quantized else "onnx"
        if model_dir.is_dir():
            verify_manifest(model_dir)  # the torch backends check it in load_model
        if onnx_file is None:
            onnx_file = export_file(model_dir, self.name)
            if onnx_file is None:
                raise OnnxExportError(
                    f"no up-to-date {self.name} export of {model_dir}: "
                    f"run `detente export --model {model_dir}`"
                )
        self.onnx_file = Path(onnx_file)
        try:
            self.config = DetenteConfig.from_json_file(model_dir / CONFIG_NAME)
        except (OSError, ValueError, TypeError) as exc:
            raise OnnxExportError(f"{model_dir / CONFIG_NAME}: {exc}") from exc
        self.tokenizer = PairTokenizer(model_dir / "tokenizer.json", self.config.max_length)
        self.session = ort.InferenceSession(
            str(self.onnx_file), session_options(threads), providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]

    def predict_logits(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        from detente.model.batching import predict_in_batches

        encodings = self.tokenizer.encode(texts, targets) if len(texts) else []

        def run(indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
            feed = self.tokenizer.pad([encodings[i] for i in indices])
            outputs = self.session.run(list(OUTPUT_NAMES), {k: feed[k] for k in self.input_names})
            return outputs[0], outputs[1]

        lengths = [len(e.ids) for e in encodings]
        return predict_in_batches(self.config, lengths, run, batch_size, show_progress)

    def predict_probs(
        self,
        texts: Sequence[str],
        targets: Sequence[str | None],
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (stance probs, sentiment probs), rows in input order, columns in label order."""
        stance, sentiment = self.predict_logits(texts, targets, batch_size, show_progress)
        return softmax(stance), softmax(sentiment)


# -- export -------------------------------------------------------------------------------------


@dataclass
class ExportResult:
    directory: Path
    files: dict[str, Path]
    seconds: float


def default_export_dir(model_dir: Path) -> Path:
    """The model directory when it is writable, else the cache directory for its weights. The
    shipped default model's directory is part of the package: its export goes to the cache."""
    from detente.model import DEFAULT_MODEL_DIR

    shipped = model_dir.resolve() == DEFAULT_MODEL_DIR.resolve()
    if os.access(model_dir, os.W_OK) and not shipped:
        return model_dir
    return cache_dir_for(model_fingerprint(model_dir))


def export_onnx(
    model_dir: Path | str,
    output_dir: Path | str | None = None,
    quantize: bool = True,
    optimize: bool = True,
) -> ExportResult:
    """Export `model_dir` to ONNX (and int8), writing into `output_dir` (default: the model
    directory when writable, else the cache). Needs torch, onnx and onnxruntime."""
    import torch

    from detente.model.serialization import load_model

    started = time.perf_counter()
    model_dir = Path(model_dir)
    fingerprint = model_fingerprint(model_dir)
    output_dir = Path(output_dir) if output_dir else default_export_dir(model_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_model(model_dir, merge_adapters=True)
    model = model.float().eval()
    hidden = model.encoder.config.hidden_size
    heads = model.encoder.config.num_attention_heads

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            output = self.model(input_ids, attention_mask, token_type_ids)
            return output.stance_logits, output.sentiment_logits

    # Rows of different lengths, so the traced graph keeps the padding-mask path.
    example = tokenizer(
        ["negotiations", "negotiations"],
        ["The talks resumed in Istanbul on Monday after a pause of three weeks.", "Talks."],
        padding=True,
        return_tensors="pt",
    )
    args = tuple(example[name] for name in INPUT_NAMES)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes.update({name: {0: "batch"} for name in OUTPUT_NAMES})
    work = Path(tempfile.mkdtemp(prefix=".onnx-export.", dir=output_dir))
    try:
        raw = work / "raw.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            # Tracing notes that the mask's padding branch is fixed (it is: eager attention
            # masks are always as long as the keys) and that index ops need non-negative
            # indices (they are positions); the fp32 graph is checked against torch in tests.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=".*aten::index.*")
            torch.onnx.export(
                Graph().eval(),
                args,
                str(raw),
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        fp32 = work / ONNX_NAME
        if optimize:
            _fuse(raw, fp32, heads, hidden)
        else:
            shutil.move(raw, fp32)
        files = {"onnx": ONNX_NAME}
        if quantize:
            _quantize(fp32, work / ONNX_INT8_NAME)
            files["onnx-int8"] = ONNX_INT8_NAME
        info = {
            "fingerprint": fingerprint,
            "source": str(model_dir.resolve()),
            "files": files,
            "opset": OPSET,
            "fused": optimize,
            "onnxruntime": _version("onnxruntime"),
            "torch": torch.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "agreement": {},
        }
        # Replace the old files; the info file goes last, so a partial export is never used.
        (output_dir / EXPORT_INFO_NAME).unlink(missing_ok=True)
        for backend in ONNX_FILES:
            if backend not in files:
                (output_dir / ONNX_FILES[backend]).unlink(missing_ok=True)
        for name in files.values():
            os.replace(work / name, output_dir / name)
        write_export_info(output_dir, info)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(
        output_dir, {k: output_dir / v for k, v in files.items()}, time.perf_counter() - started
    )


def write_export_info(directory: Path, info: dict[str, Any]) -> None:
    staging = directory / f".{EXPORT_INFO_NAME}.{os.getpid()}"
    staging.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(staging, directory / EXPORT_INFO_NAME)


def check_export(
    model_dir: Path | str,
    export_dir: Path | str,
    texts: Sequence[str],
    targets: Sequence[str | None],
    threads: int | None = None,
    batch_size: int = 32,
    source: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Score `texts` with PyTorch fp32 and with each graph in `export_dir` (and bf16 where the
    CPU has it); return each one's label agreement with fp32 per head, largest probability
    difference and sentences/s, and store them in its onnx_export.json (backend "auto" reads
    them). Needs torch."""
    from detente.model.backends import bf16_support, label_agreement, load_predictor

    model_dir, export_dir = Path(model_dir), Path(export_dir)
    info = read_export_info(export_dir)
    if info is None:
        raise OnnxExportError(f"no {EXPORT_INFO_NAME} in {export_dir}")
    texts, targets = list(texts), list(targets)
    reference = load_predictor(model_dir, "torch", threads).predict_probs(
        texts, targets, batch_size
    )
    candidates: list[tuple[str, Any]] = [
        (
            name,
            lambda f=file, q=name != "onnx": OnnxPredictor(model_dir, export_dir / f, q, threads),
        )
        for name, file in (info.get("files") or {}).items()
    ]
    if bf16_support():
        candidates.append(("bf16", lambda: load_predictor(model_dir, "bf16", threads)))
    found: dict[str, dict[str, float]] = {}
    for name, make in candidates:
        predictor = make()
        predictor.predict_probs(texts[:batch_size], targets[:batch_size], batch_size)  # warm up
        started = time.perf_counter()
        probs = predictor.predict_probs(texts, targets, batch_size)
        rate = len(texts) / max(time.perf_counter() - started, 1e-9)
        found[name] = {
            **label_agreement(reference, probs),
            "n": len(texts),
            "sentences_per_s": round(rate, 1),
        }
        del predictor
    record_agreement(export_dir, found, {"sentences": len(texts), **(source or {})})
    return found


def record_agreement(
    directory: Path, agreement: dict[str, Any], check: dict[str, Any] | None = None
) -> None:
    """Store the agreement measured with fp32 next to the export (read by backend "auto")."""
    info = read_export_info(directory)
    if info is None:
        raise OnnxExportError(f"no {EXPORT_INFO_NAME} in {directory}")
    info["agreement"] = agreement
    if check is not None:
        info["check"] = check
    write_export_info(directory, info)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _fuse(source: Path, target: Path, heads: int, hidden: int) -> None:
    """ONNX Runtime's BERT fusions (attention, GELU, skip layer norm) saved into the file."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    optimized.save_model_to_file(str(target))


def _quantize(source: Path, target: Path) -> None:
    """int8 weights, one scale per output channel (closer to fp32 than one per tensor);
    activations are quantised on the fly."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a generic pre-processing hint
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # the fused contrib ops have no shape inference: their outputs are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
