"""The fine-tuning loop: mixed corpora, masked multi-task loss, dev selection, resumable.

Layout of a run with output directory OUT:
  OUT/                     the finished model (written at the end, atomically) with
                           metrics.json, train_log.jsonl and the config it was trained from
  OUT.checkpoint/          work in progress: `state/` (last checkpoint: weights, optimiser,
                           scheduler, RNG, position) and `best/` (best model so far);
                           removed once OUT is written
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml
from safetensors.torch import load_file, save_file
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from detente.model.config import DetenteConfig
from detente.model.manifest import write_manifest
from detente.model.modeling import IGNORE, DetenteModel, load_tokenizer
from detente.model.predict import TorchPredictor, encode_pairs, set_threads
from detente.model.serialization import replace_directory, save_model
from detente.training.records import Record
from detente.training.training_args import ExperimentConfig

logger = logging.getLogger(__name__)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class EncodedCorpus:
    """A corpus tokenised once, with label ids (-100 where the head has no label)."""

    name: str
    weight: float
    features: list[dict[str, list[int]]]
    stance: list[int]
    sentiment: list[int]
    # Teacher probabilities per row ([-1, ...] where the row has none); None: no soft labels.
    stance_soft: list[list[float]] | None = None
    sentiment_soft: list[list[float]] | None = None


def encode_corpus(
    name: str,
    weight: float,
    records: list[Record],
    tokenizer: PreTrainedTokenizerBase,
    config: DetenteConfig,
) -> EncodedCorpus:
    targets = [r.target or config.default_target for r in records]
    features = encode_pairs(tokenizer, [r.text for r in records], targets, config.max_length)
    stance_ids = {label: i for i, label in enumerate(config.stance_labels)}
    sentiment_ids = {label: i for i, label in enumerate(config.sentiment_labels)}

    def soft(attr: str, n: int) -> list[list[float]] | None:
        if not any(getattr(r, attr) for r in records):
            return None
        return [list(getattr(r, attr) or [-1.0] * n) for r in records]

    return EncodedCorpus(
        name,
        weight,
        features,
        [stance_ids[r.stance] if r.stance else IGNORE for r in records],
        [sentiment_ids[r.sentiment] if r.sentiment else IGNORE for r in records],
        soft("stance_probs", len(config.stance_labels)),
        soft("sentiment_probs", len(config.sentiment_labels)),
    )


def epoch_order(corpora: list[EncodedCorpus], seed: int, epoch: int, cap: int | None) -> list:
    """(corpus index, row index) pairs for one epoch: each corpus contributes
    round(size * weight) rows (sampled without replacement up to its size), all shuffled."""
    rng = random.Random(seed * 1000 + epoch)
    order: list[tuple[int, int]] = []
    for c, corpus in enumerate(corpora):
        size = len(corpus.features)
        wanted = round(size * corpus.weight)
        rows = [i for _ in range(wanted // size) for i in range(size)] if size else []
        rows += rng.sample(range(size), wanted % size) if size else []
        order.extend((c, i) for i in rows)
    rng.shuffle(order)
    return order[:cap] if cap else order


def length_grouped(
    order: list[tuple[int, int]], corpora: list[EncodedCorpus], batch_size: int, seed: int
) -> list[list[tuple[int, int]]]:
    """Batches of similar length (less padding): the shuffled order is cut into windows of 50
    batches, each window sorted by token length and cut into batches, and the batches shuffled."""
    window = batch_size * 50
    batches = []
    for i in range(0, len(order), window):
        chunk = sorted(
            order[i : i + window], key=lambda ci: len(corpora[ci[0]].features[ci[1]]["input_ids"])
        )
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    random.Random(seed).shuffle(batches)
    return batches


def soft_rows(
    rows: list[tuple[int, int]], corpora: list[EncodedCorpus], head: str
) -> torch.Tensor | None:
    """The teacher probabilities of `rows` for `head` (rows of corpora without them get -1s,
    which the soft loss skips); None when no row's corpus has soft labels."""
    tables = [getattr(corpora[c], f"{head}_soft") for c, _ in rows]
    present = [table for table in tables if table is not None]
    if not present:
        return None
    missing = [-1.0] * len(present[0][0])
    return torch.tensor(
        [
            table[i] if table is not None else missing
            for table, (_, i) in zip(tables, rows, strict=True)
        ]
    )


def class_weights(labels: list[int], n: int) -> torch.Tensor | None:
    counts = np.bincount([x for x in labels if x != IGNORE], minlength=n).astype(np.float64)
    if counts.sum() == 0:
        return None
    weights = counts.sum() / (n * np.maximum(counts, 1))
    return torch.tensor(weights, dtype=torch.float32)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains a DetenteModel on an ExperimentConfig's corpora; see the module docstring."""

    def __init__(
        self,
        config: ExperimentConfig,
        train_records: dict[str, list[Record]],
        dev_records: list[Record],
        output_dir: Path,
        evaluate: Callable[[TorchPredictor, list[Record]], dict[str, float]],
    ) -> None:
        self.config = config
        self.args = config.training
        self.train_records = train_records
        self.dev_records = dev_records
        self.output_dir = Path(output_dir)
        self.work_dir = self.output_dir.with_name(self.output_dir.name + ".checkpoint")
        self.evaluate = evaluate
        self.device = pick_device(self.args.device)

    # -- set-up -----------------------------------------------------------------------------

    def build_model(self) -> tuple[DetenteModel, PreTrainedTokenizerBase]:
        m = self.config.model
        model_config = DetenteModel.new_config(
            m.base,
            method=m.method,
            lora=m.lora,
            freeze_embeddings=m.freeze_embeddings,
            max_length=m.max_length,
            dropout=m.dropout,
            default_target=m.default_target,
            saved_dtype=m.saved_dtype,
        )
        from detente.model.base import resolve_base_path

        return DetenteModel.from_base(model_config), load_tokenizer(resolve_base_path(m.base))

    def optimizer(self, model: DetenteModel, total_steps: int):
        heads = [p for n, p in model.named_parameters() if p.requires_grad and "_head" in n]
        body = [p for n, p in model.named_parameters() if p.requires_grad and "_head" not in n]
        head_lr = self.args.head_learning_rate or self.args.learning_rate
        optimizer = torch.optim.AdamW(
            [
                {"params": body, "lr": self.args.learning_rate},
                {"params": heads, "lr": head_lr},
            ],
            weight_decay=self.args.weight_decay,
        )
        warmup = int(total_steps * self.args.warmup_ratio)

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / max(1, warmup)
            return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

        return optimizer, LambdaLR(optimizer, schedule)

    # -- checkpoints ------------------------------------------------------------------------

    def save_state(self, model, optimizer, scheduler, state: dict) -> None:
        staging = Path(tempfile.mkdtemp(prefix=".state.", dir=self.work_dir))
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(tensors, str(staging / "model.safetensors"))
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
            staging / "optimizer.pt",
        )
        state = {**state, "torch_rng": torch.get_rng_state().tolist()}
        (staging / "state.json").write_text(json.dumps(state), encoding="utf-8")
        replace_directory(staging, self.work_dir / "state")

    def load_state(self, model, optimizer, scheduler) -> dict:
        directory = self.work_dir / "state"
        model.load_state_dict(load_file(str(directory / "model.safetensors")))
        saved = torch.load(directory / "optimizer.pt", weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        torch.set_rng_state(torch.tensor(state.pop("torch_rng"), dtype=torch.uint8))
        return state

    # -- the loop ---------------------------------------------------------------------------

    def train(self, resume: bool = False) -> dict:
        args = self.args
        set_seed(args.seed)
        set_threads(args.threads)
        if not resume and self.work_dir.exists():
            shutil.rmtree(self.work_dir)
        if resume and not (self.work_dir / "state").is_dir():
            raise FileNotFoundError(f"--resume: no checkpoint in {self.work_dir}")
        self.work_dir.mkdir(parents=True, exist_ok=True)

        model, tokenizer = self.build_model()
        model.to(self.device)
        corpora = [
            encode_corpus(name, self._weight(name), records, tokenizer, model.config)
            for name, records in self.train_records.items()
            if records
        ]
        steps_per_epoch = math.ceil(
            len(epoch_order(corpora, args.seed, 0, args.max_train_samples)) / args.batch_size
        )
        total_steps = steps_per_epoch * args.epochs
        optimizer, scheduler = self.optimizer(model, total_steps)
        weights = self._class_weights(corpora, model.config)

        state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": None, "bad_evals": 0}
        if resume:
            state = self.load_state(model, optimizer, scheduler)
            logger.info("resumed at epoch %d step %d", state["epoch"], state["step_in_epoch"])
        log_path = self.work_dir / "train_log.jsonl"
        eval_points = {
            round(steps_per_epoch * k / args.evals_per_epoch)
            for k in range(1, args.evals_per_epoch + 1)
        }
        autocast = args.bf16 and self.device.type in ("cpu", "cuda")
        start = time.time()
        stop = False
        for epoch in range(state["epoch"], args.epochs):
            order = epoch_order(corpora, args.seed, epoch, args.max_train_samples)
            if args.group_by_length:
                batches = length_grouped(order, corpora, args.batch_size, args.seed + epoch)
            else:
                batches = [
                    order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)
                ]
            model.train()
            progress = tqdm(
                total=len(batches),
                initial=state["step_in_epoch"],
                desc=f"epoch {epoch + 1}/{args.epochs}",
            )
            running = []
            for step in range(state["step_in_epoch"], len(batches)):
                batch = self._collate(batches[step], corpora, tokenizer)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
                    output = model(**batch, **weights)
                optimizer.zero_grad(set_to_none=True)
                output.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                optimizer.step()
                scheduler.step()
                running.append(output.loss.item())
                progress.update(1)
                progress.set_postfix(loss=f"{np.mean(running[-50:]):.4f}")
                state.update(step_in_epoch=step + 1, global_step=state["global_step"] + 1)
                if step + 1 in eval_points:
                    metrics = self._evaluate(model, tokenizer, epoch, step + 1, steps_per_epoch)
                    metrics["train_loss"] = float(np.mean(running))
                    metrics["elapsed_s"] = round(time.time() - start, 1)
                    with log_path.open("a", encoding="utf-8") as log:
                        log.write(json.dumps(metrics) + "\n")
                    tqdm.write(json.dumps(metrics))
                    stop = self._select(model, tokenizer, metrics, state)
                    model.train()
                if stop or state["global_step"] % args.checkpoint_every_steps == 0:
                    self.save_state(model, optimizer, scheduler, {**state, "epoch": epoch})
                if stop:
                    break
            progress.close()
            state["epoch"], state["step_in_epoch"] = epoch + 1, 0
            self.save_state(model, optimizer, scheduler, state)
            if stop:
                logger.info("early stopping after epoch %d", epoch + 1)
                break
        return self._finish(state)

    def _weight(self, name: str) -> float:
        return next(c.weight for c in self.config.corpora if c.name == name)

    def _class_weights(self, corpora, config: DetenteConfig) -> dict[str, torch.Tensor]:
        if self.args.class_weighting != "balanced":
            return {}
        found = {
            "stance_weight": class_weights(
                [x for c in corpora for x in c.stance], len(config.stance_labels)
            ),
            "sentiment_weight": class_weights(
                [x for c in corpora for x in c.sentiment], len(config.sentiment_labels)
            ),
        }
        return {k: v.to(self.device) for k, v in found.items() if v is not None}

    def _collate(self, rows, corpora, tokenizer) -> dict[str, torch.Tensor]:
        batch = tokenizer.pad([corpora[c].features[i] for c, i in rows], return_tensors="pt")
        batch["stance_labels"] = torch.tensor([corpora[c].stance[i] for c, i in rows])
        batch["sentiment_labels"] = torch.tensor([corpora[c].sentiment[i] for c, i in rows])
        for head in ("stance", "sentiment"):
            soft = soft_rows(rows, corpora, head)
            if soft is not None:
                batch[f"{head}_soft"] = soft
        return {k: v.to(self.device) for k, v in batch.items()}

    def _evaluate(self, model, tokenizer, epoch: int, step: int, steps: int) -> dict:
        model.eval()
        predictor = TorchPredictor(model, tokenizer, threads=self.args.threads, device=self.device)
        metrics = self.evaluate(predictor, self.dev_records)
        return {"epoch": round(epoch + step / steps, 3), **metrics}

    def _select(self, model, tokenizer, metrics: dict, state: dict) -> bool:
        key = self.args.select_metric
        if key not in metrics:
            raise KeyError(f"select_metric {key!r} not in dev metrics {sorted(metrics)}")
        if state["best"] is None or metrics[key] > state["best"]["value"]:
            state["best"] = {"value": metrics[key], "metrics": metrics}
            state["bad_evals"] = 0
            save_model(model, tokenizer, self.work_dir / "best")
            return False
        state["bad_evals"] += 1
        patience = self.args.early_stopping_patience
        return patience is not None and state["bad_evals"] >= patience

    def _finish(self, state: dict) -> dict:
        best = state["best"]
        if best is None:
            raise RuntimeError("training ended before any dev evaluation")
        staging = self.work_dir / "final"
        if staging.exists():
            shutil.rmtree(staging)
        shutil.copytree(self.work_dir / "best", staging)
        summary = {
            "select_metric": self.args.select_metric,
            "best": best["metrics"],
            "train_sizes": {name: len(r) for name, r in self.train_records.items()},
            "dev_size": len(self.dev_records),
        }
        (staging / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
        shutil.copy(self.work_dir / "train_log.jsonl", staging / "train_log.jsonl")
        (staging / "train_config.yaml").write_text(
            yaml.safe_dump(self.config.to_dict(), sort_keys=False), "utf-8"
        )
        write_manifest(staging)  # again, now that the run's files are in
        replace_directory(staging, self.output_dir)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return summary
