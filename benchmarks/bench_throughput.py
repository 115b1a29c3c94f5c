"""Sentences per second: the Hugging Face pipeline against every detente backend.

    python benchmarks/bench_throughput.py [--model default|DIR] [--n 1000] [--runs 3]

Same N real news sentences (target "negotiations") for everyone, same process, same number
of threads (2 by default). The baseline is what a user would reach for:
`pipeline("text-classification")` at its default settings (one sentence at a time) over a
transformers model built from the same fp32 encoder weights and the stance head. Each contender
scores all N sentences once untimed (the "first pass": it warms caches, e.g. oneDNN's bf16
kernels per input shape), then `--runs` timed passes, round-robin so that a change in machine
load hits all of them alike; the median counts. Label agreement of every backend with PyTorch
fp32 is measured per head on the same sentences and on dev sets with their own targets. Peak
resident memory is read from a fresh process per backend that loads the model and scores the
sentences once.

Prints a table and writes benchmarks/results/throughput.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = "negotiations"
BAR_RATIO = 5.0
BAR_AGREEMENT = 0.99


# -- the baseline -------------------------------------------------------------------------------


def build_pipeline(directory: Path):
    """transformers' text-classification pipeline over the detente encoder + stance head."""
    from transformers import PreTrainedModel, pipeline
    from transformers.modeling_outputs import SequenceClassifierOutput
    from transformers.utils import logging as hf_logging

    from detente.model import load_model
    from detente.model.modeling import mean_pool

    hf_logging.set_verbosity_error()
    model, tokenizer = load_model(directory)
    labels = list(model.config.stance_labels)
    config = copy.deepcopy(model.encoder.config)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: i for i, label in enumerate(labels)}

    class MeanPoolForSequenceClassification(PreTrainedModel):
        """A sequence classifier as transformers knows it: encoder, mean pooling, a linear head."""

        config_class = type(config)
        base_model_prefix = "encoder"

        def __init__(self, config, encoder, head) -> None:
            super().__init__(config)
            self.encoder = encoder
            self.classifier = head

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **kwargs):
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            return SequenceClassifierOutput(
                logits=self.classifier(mean_pool(hidden, attention_mask))
            )

    classifier = MeanPoolForSequenceClassification(config, model.encoder, model.stance_head)
    classifier.eval()
    pipe = pipeline("text-classification", model=classifier, tokenizer=tokenizer, device="cpu")
    max_length = model.config.max_length
    index = config.label2id

    def run(sentences: list[str]) -> list[int]:
        inputs = [{"text": TARGET, "text_pair": s} for s in sentences]
        outputs = pipe(inputs, truncation="only_second", max_length=max_length)
        return [index[o["label"]] if isinstance(o, dict) else index[o[0]["label"]] for o in outputs]

    return run


class Contender:
    def __init__(self, name: str, run, backend: str | None) -> None:
        self.name, self.run, self.backend = name, run, backend
        self.first_pass: float | None = None
        self.times: list[float] = []
        self.output: Any = None


def load_contenders(
    directory: Path, backends: list[str], threads: int, batch_size: int, pipeline: bool
) -> list[Contender]:
    from detente.model.backends import load_predictor

    contenders = []
    if pipeline:
        contenders.append(Contender("hf-pipeline", build_pipeline(directory), None))
    for backend in backends:
        predictor = load_predictor(directory, backend, threads=threads)

        def run(sentences, predictor=predictor):
            return predictor.predict_probs(sentences, [TARGET] * len(sentences), batch_size)

        name = backend if backend != "auto" else f"auto ({predictor.name})"
        contenders.append(Contender(name, run, predictor.name))
    return contenders


# -- peak memory in a fresh process -------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """`--rss-child BACKEND`: load, score the sentences once, print memory as JSON."""
    started = time.perf_counter()
    sentences = json.loads(Path(args.sentences_file).read_text(encoding="utf-8"))
    if args.rss_child == "hf-pipeline":
        run = build_pipeline(Path(args.model))
        loaded = time.perf_counter() - started
        run(sentences)
    else:
        from detente.model.backends import load_predictor

        predictor = load_predictor(Path(args.model), args.rss_child, threads=args.threads)
        loaded = time.perf_counter() - started
        predictor.predict_probs(sentences, [TARGET] * len(sentences), args.batch_size)
    status = common.proc_status()
    print(
        json.dumps(
            {
                "peak_rss_mib": round(status.get("VmHWM", common.peak_rss_mib()), 1),
                "rss_after_mib": round(status.get("VmRSS", 0.0), 1),
                "load_s": round(loaded, 2),
                "torch_imported": "torch" in sys.modules,
            }
        )
    )


def measure_rss(name: str, directory: Path, sentences_file: Path, args) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--rss-child",
        name,
        "--model",
        str(directory),
        "--sentences-file",
        str(sentences_file),
        "--threads",
        str(args.threads),
        "--batch-size",
        str(args.batch_size),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- main ---------------------------------------------------------------------------------------


def agreement_of(reference, probs) -> dict[str, float]:
    from detente.model.backends import label_agreement

    return label_agreement(reference, probs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model directory or 'default'")
    parser.add_argument("--n", type=int, default=1000, help="sentences (same for everyone)")
    parser.add_argument("--runs", type=int, default=3, help="timed passes per contender")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--backends",
        default="torch,bf16,onnx,onnx-int8,auto",
        help="comma-separated detente backends (bf16 is skipped where unsupported)",
    )
    parser.add_argument("--no-pipeline", action="store_true", help="skip the HF baseline")
    parser.add_argument("--no-rss", action="store_true", help="skip the per-process memory runs")
    parser.add_argument("--data-root", type=Path, default=common.DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--sentences-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        child(args)
        return

    import torch

    from detente.model.backends import bf16_support, choose_backend
    from detente.model.onnx_backend import model_fingerprint

    torch.set_num_threads(args.threads)
    warning = common.check_load()
    if warning:
        common.note(warning)
    directory, trained = common.resolve_model(args.model)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "bf16" in backends and bf16_support() is None:
        common.note("this CPU has no bf16 instructions: skipping backend bf16")
        backends.remove("bf16")
    export = None
    if any(b.startswith("onnx") or b == "auto" for b in backends):
        export = common.ensure_export(directory, args.data_root)
    if "torch" not in backends:
        backends.insert(0, "torch")  # the reference for agreement

    sentences, origin = common.news_sentences(args.n, args.data_root)
    tokens = common.mean_tokens(directory, sentences, TARGET)
    print(
        f"model: {directory} ({'trained' if trained else 'RANDOM heads'}); auto -> "
        f"{choose_backend(directory)}",
        flush=True,
    )
    print(
        f"sentences: {len(sentences)} from {origin}; mean {tokens:.1f} tokens with the target; "
        f"threads {args.threads}; batch size {args.batch_size}; {args.runs} timed runs each",
        flush=True,
    )

    contenders = load_contenders(
        directory, backends, args.threads, args.batch_size, not args.no_pipeline
    )
    for contender in contenders:  # the untimed first pass
        started = time.perf_counter()
        contender.output = contender.run(sentences)
        contender.first_pass = len(sentences) / (time.perf_counter() - started)
        print(f"  first pass {contender.name}: {contender.first_pass:.1f} sentences/s", flush=True)
    for run in range(args.runs):
        for contender in contenders:
            time.sleep(0.2)  # let the previous contender's worker threads go idle
            started = time.perf_counter()
            contender.output = contender.run(sentences)
            contender.times.append(time.perf_counter() - started)
        print(
            f"  run {run + 1}/{args.runs}: "
            + ", ".join(f"{c.name} {len(sentences) / c.times[-1]:.0f}/s" for c in contenders),
            flush=True,
        )

    reference = next(c for c in contenders if c.name == "torch").output
    rows: list[dict[str, Any]] = []
    pipeline_rate = None
    for contender in contenders:
        rates = [len(sentences) / t for t in contender.times]
        row: dict[str, Any] = {
            "name": contender.name,
            "backend": contender.backend,
            "sentences_per_s": round(statistics.median(rates), 1),
            "min_per_s": round(min(rates), 1),
            "max_per_s": round(max(rates), 1),
            "first_pass_per_s": round(contender.first_pass or 0.0, 1),
        }
        if contender.backend is None:
            pipeline_rate = row["sentences_per_s"]
            labels = contender.output
            row["agreement"] = {
                "stance": sum(
                    int(a == b) for a, b in zip(labels, reference[0].argmax(1), strict=True)
                )
                / len(labels)
            }
        else:
            row["agreement"] = agreement_of(reference, contender.output)
        rows.append(row)
    for row in rows:
        row["ratio_vs_pipeline"] = (
            round(row["sentences_per_s"] / pipeline_rate, 2) if pipeline_rate else None
        )

    # Agreement on dev sets with their own targets (detente backends only).
    dev = common.dev_sets(args.data_root)
    from detente.model.backends import load_predictor

    dev_agreement: dict[str, dict[str, Any]] = {}
    predictors = {b: load_predictor(directory, b, threads=args.threads) for b in backends}
    for set_name, (texts, targets) in dev.items():
        ref = predictors["torch"].predict_probs(texts, targets, args.batch_size)
        dev_agreement[set_name] = {"n": len(texts)}
        for backend, predictor in predictors.items():
            if backend == "torch":
                continue
            dev_agreement[set_name][backend] = agreement_of(
                ref, predictor.predict_probs(texts, targets, args.batch_size)
            )
    del predictors

    # Peak memory of a fresh scoring process per contender.
    if not args.no_rss:
        with tempfile.TemporaryDirectory() as tmp:
            sentences_file = Path(tmp) / "sentences.json"
            sentences_file.write_text(json.dumps(sentences), encoding="utf-8")
            for row in rows:
                name = "hf-pipeline" if row["backend"] is None else row["name"].split(" ")[0]
                row["process"] = measure_rss(name, directory, sentences_file, args)

    print()
    header = (
        f"{'contender':<22}{'sent/s':>9}{'min-max':>14}{'first':>8}{'x pipe':>8}"
        f"{'stance':>9}{'sentim.':>9}{'peak RSS':>10}{'load s':>8}{'torch':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        agreement = row["agreement"]
        process = row.get("process", {})
        print(
            f"{row['name']:<22}{row['sentences_per_s']:>9.1f}"
            f"{row['min_per_s']:>7.0f}-{row['max_per_s']:<6.0f}{row['first_pass_per_s']:>8.0f}"
            f"{(row['ratio_vs_pipeline'] or 0):>7.2f}x"
            f"{agreement.get('stance', float('nan')):>9.2%}"
            f"{agreement.get('sentiment', float('nan')):>9.2%}"
            f"{process.get('peak_rss_mib', float('nan')):>7.0f} MiB"
            f"{process.get('load_s', float('nan')):>8.2f}"
            f"{str(process.get('torch_imported', '-')):>7}"
        )
    print(
        "(agreement: share of labels equal to torch fp32 on the same sentences; for the pipeline, "
        "its stance label)"
    )
    if dev_agreement:
        print("\nagreement with torch fp32 on dev sentences (own targets), stance / sentiment:")
        for set_name, found in dev_agreement.items():
            cells = [
                f"{b} {v['stance']:.2%} / {v['sentiment']:.2%}"
                for b, v in found.items()
                if b != "n"
            ]
            print(f"  {set_name} (n={found['n']}): " + "; ".join(cells))

    verdict = None
    if pipeline_rate:
        candidates = [r for r in rows if r["backend"] is not None and r["name"] != "torch"]
        auto = next((r for r in rows if r["name"].startswith("auto")), None)
        best = max(candidates or rows[1:], key=lambda r: r["sentences_per_s"])
        chosen = auto or best
        agree = min(chosen["agreement"]["stance"], chosen["agreement"]["sentiment"])
        passed = chosen["ratio_vs_pipeline"] >= BAR_RATIO and agree >= BAR_AGREEMENT
        verdict = {
            "contender": chosen["name"],
            "ratio_vs_pipeline": chosen["ratio_vs_pipeline"],
            "min_agreement": round(agree, 4),
            "bar": {"ratio": BAR_RATIO, "agreement": BAR_AGREEMENT},
            "passed": passed,
            "fastest": best["name"],
        }
        print(
            f"\n{chosen['name']}: {chosen['ratio_vs_pipeline']:.2f}x the pipeline's throughput "
            f"({chosen['sentences_per_s']:.0f} vs {pipeline_rate:.0f} sentences/s), label agreement "
            f"with fp32 {agree:.2%} (lower of the two heads): "
            f"{'meets' if passed else 'DOES NOT meet'} the bar (>= {BAR_RATIO:.0f}x, >= "
            f"{BAR_AGREEMENT:.0%}); fastest: {best['name']} {best['ratio_vs_pipeline']:.2f}x"
        )
    if not trained:
        common.note("random-head model: re-run once the default model exists")
    common.write_json(
        "throughput.json",
        {
            "model": str(directory),
            "model_fingerprint": model_fingerprint(directory),
            "trained_model": trained,
            "machine": common.machine(),
            "load_warning": warning,
            "sentences": {"n": len(sentences), "source": origin, "mean_tokens": round(tokens, 1)},
            "settings": {"threads": args.threads, "batch_size": args.batch_size, "runs": args.runs},
            "onnx_export": export,
            "results": rows,
            "dev_agreement": dev_agreement,
            "verdict": verdict,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
