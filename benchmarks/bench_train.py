"""Training speed (samples/s) and peak memory of the project's Trainer.

    python benchmarks/bench_train.py [--samples 320] [--setups full,full-bf16,lora]

Each setup trains the real base encoder (all-MiniLM-L6) for one short epoch of `--samples`
team-written statements (data/negotiation_stance/written, in the project) with the Trainer of
training/trainer.py, in a fresh process, so its peak resident memory (VmHWM) is its own.
Samples/s counts the training steps only (forward, backward, optimiser): the dev evaluation
and the checkpoint writes the Trainer also does are timed apart and left out.

Setups: full (full fine-tuning, fp32), full-bf16 (bf16 autocast: CPUs with bf16 instructions
only), lora (LoRA r=8 on query/value, fp32).

Prints the figures and writes benchmarks/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

SETUPS = {
    "full": {"method": "full", "bf16": False},
    "full-bf16": {"method": "full", "bf16": True},
    "lora": {"method": "lora", "bf16": False},
}


def child(args: argparse.Namespace) -> None:
    """`--child SETUP`: one short training run; prints its figures as JSON."""
    from detente.model.config import LoraSettings
    from detente.training.corpora import CorpusConfig, load_corpus
    from detente.training.train_cli import dev_metrics
    from detente.training.trainer import Trainer
    from detente.training.training_args import (
        ExperimentConfig,
        ModelArguments,
        TrainingArguments,
    )

    setup = SETUPS[args.child]
    corpus = CorpusConfig(
        name="written",
        format="jsonl",
        files={"train": sorted(str(p) for p in common.ROOT.glob(args.data))},
        id_column="id",
        stance_column="stance",
        sentiment_column="sentiment",
        target="negotiations",
        dev_fraction=args.dev_fraction,
        root=str(common.ROOT),
    )
    lora = LoraSettings(r=8, alpha=16, dropout=0.1, target_modules=["query", "value"])
    experiment = ExperimentConfig(
        model=ModelArguments(
            method=setup["method"],
            lora=lora if setup["method"] == "lora" else None,
            max_length=args.max_length,
        ),
        training=TrainingArguments(
            epochs=1,
            batch_size=args.batch_size,
            learning_rate=1e-3 if setup["method"] == "lora" else 5e-5,
            max_train_samples=args.samples,
            early_stopping_patience=None,
            checkpoint_every_steps=10**9,
            bf16=setup["bf16"],
            threads=args.threads,
            device="cpu",
            seed=1,
        ),
        corpora=[corpus],
        data_root=str(common.ROOT),
    )
    train = {"written": load_corpus(corpus, "train", experiment.data_root)}
    dev = load_corpus(corpus, "dev", experiment.data_root)

    class TimedTrainer(Trainer):
        """The project's Trainer, timing its steps apart from evaluation and checkpoints."""

        samples = 0
        first_step: float | None = None
        excluded = 0.0

        def _collate(self, rows, corpora, tokenizer):
            if self.first_step is None:
                self.first_step = time.perf_counter()
            self.samples += len(rows)
            return super()._collate(rows, corpora, tokenizer)

        def _timed(self, method, *a, **k):
            started = time.perf_counter()
            try:
                return method(*a, **k)
            finally:
                if self.first_step is not None:
                    self.excluded += time.perf_counter() - started

        def _evaluate(self, *a, **k):
            return self._timed(super()._evaluate, *a, **k)

        def _select(self, *a, **k):
            return self._timed(super()._select, *a, **k)

        def save_state(self, *a, **k):
            return self._timed(super().save_state, *a, **k)

        def _finish(self, *a, **k):
            return self._timed(super()._finish, *a, **k)

    with tempfile.TemporaryDirectory() as tmp:
        trainer = TimedTrainer(experiment, train, dev, Path(tmp) / "model", dev_metrics)
        started = time.perf_counter()
        summary = trainer.train()
        ended = time.perf_counter()
    steps = ended - (trainer.first_step or started) - trainer.excluded
    memory = common.proc_status()
    print(
        json.dumps(
            {
                "samples": trainer.samples,
                "train_s": round(steps, 2),
                "samples_per_s": round(trainer.samples / steps, 1),
                "eval_and_checkpoint_s": round(trainer.excluded, 2),
                "total_s": round(ended - started, 2),
                "peak_rss_mib": round(memory.get("VmHWM", common.peak_rss_mib()), 1),
                "dev_size": len(dev),
                "dev_metrics": {
                    k: v for k, v in summary["best"].items() if isinstance(v, (int, float))
                },
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--setups", default="full,full-bf16,lora", help="comma-separated")
    parser.add_argument("--samples", type=int, default=320, help="training samples per setup")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dev-fraction", type=float, default=0.05)
    parser.add_argument(
        "--data", default="data/negotiation_stance/written/*.jsonl", help="glob under the project"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    parser.add_argument("--child", choices=sorted(SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from detente.model.backends import bf16_support

    warning = common.check_load()
    if warning:
        common.note(warning)
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    for setup in setups:
        if setup not in SETUPS:
            raise SystemExit(f"error: unknown setup {setup!r}; choose from {', '.join(SETUPS)}")
    if "full-bf16" in setups and bf16_support() is None:
        common.note("this CPU has no bf16 instructions: skipping full-bf16")
        setups.remove("full-bf16")
    print(
        f"training {args.samples} samples per setup, batch {args.batch_size}, max length "
        f"{args.max_length}, {args.threads} threads, data {args.data}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for setup in setups:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", setup]
        for flag in ("samples", "batch_size", "max_length", "threads", "dev_fraction", "data"):
            command += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-5:]
            print(f"{setup}: FAILED\n  " + "\n  ".join(tail), flush=True)
            results.append({"setup": setup, "error": "\n".join(tail)})
            continue
        found = {"setup": setup, **json.loads(done.stdout.strip().splitlines()[-1])}
        results.append(found)
        print(
            f"{setup:<10} {found['samples_per_s']:6.1f} samples/s ({found['samples']} samples "
            f"in {found['train_s']:.1f} s; dev evaluation and checkpoints {found['eval_and_checkpoint_s']:.1f} s "
            f"apart); peak RSS {found['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    common.write_json(
        "train.json",
        {
            "machine": common.machine(),
            "load_warning": warning,
            "settings": {
                "samples": args.samples,
                "batch_size": args.batch_size,
                "max_length": args.max_length,
                "threads": args.threads,
                "data": args.data,
            },
            "results": results,
        },
        args.out,
    )
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
