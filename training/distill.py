"""Teacher labels for distillation: the accurate model's probabilities on unlabelled real news.

    python -m detente.training.distill --teacher accurate --shared ../shared/data \\
        --out runs/distill/soft.jsonl [--max-sentences 12000]

Takes the news pool (`detente.training.news_pool`), keeps only sentences of articles in the
corpus's train split (`split_of_article`), so no dev article reaches the student through the
teacher, and samples up to `--max-sentences` of them: `--keyword-share` from sentences that
mention negotiating or its alternatives (`mining.KEYWORDS`), the rest from all others. The
teacher scores them and the file gets one line per sentence, `{"text", "target",
"stance_probs", "sentiment_probs"}`, which the `soft` corpus format reads (configs/default.yaml).
The file holds text of ../shared, so it lives under runs/ (ignored by git) and is rebuilt by
`make model`. It is written to a temporary name and renamed when complete.

    python -m detente.training.distill --teacher accurate --agreement-with default \
        --max-sentences 2000

instead measures how often a student's labels equal the teacher's on pool sentences of
dev-split articles (which neither model was trained on), and prints it as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

from detente.model.config import SENTIMENT_LABELS, STANCE_LABELS
from detente.training.mining import KEYWORDS
from detente.training.negotiation_corpus import TARGET, split_of_article
from detente.training.news_pool import build_pool


def sample_texts(
    shared: Path, max_sentences: int, keyword_share: float, seed: int, split: str = "train"
) -> list[str]:
    """Distinct pool sentences of `split` articles: keyword ones up to the share, then others."""
    seen: set[str] = set()
    keyword, other = [], []
    for item in build_pool(shared):
        if split_of_article(item.article) != split or item.text.lower() in seen:
            continue
        seen.add(item.text.lower())
        (keyword if KEYWORDS.search(item.text) else other).append(item.text)
    rng = random.Random(seed)
    rng.shuffle(keyword)
    rng.shuffle(other)
    take = min(len(keyword), round(max_sentences * keyword_share))
    chosen = keyword[:take] + other[: max_sentences - take]
    rng.shuffle(chosen)
    return chosen


def label_agreement(student, teacher, texts: list[str], batch_size: int) -> dict[str, float]:
    """Share of `texts` where the student's argmax label equals the teacher's, per head."""
    targets = [TARGET] * len(texts)
    ours = student.predict_probs(texts, targets, batch_size=batch_size, show_progress=True)
    theirs = teacher.predict_probs(texts, targets, batch_size=batch_size, show_progress=True)
    out: dict[str, float] = {"n": float(len(texts))}
    for head, a, b in zip(("stance", "sentiment"), ours, theirs, strict=True):
        out[head] = float((a.argmax(1) == b.argmax(1)).mean())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detente.training.distill", description=__doc__)
    parser.add_argument("--teacher", default="accurate", help="teacher model dir or 'accurate'")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/distill/soft.jsonl"))
    parser.add_argument("--max-sentences", type=int, default=12000)
    parser.add_argument("--keyword-share", type=float, default=0.6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--agreement-with",
        default=None,
        help="a student model: print its label agreement with the teacher on dev-split "
        "pool sentences instead of writing soft labels",
    )
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"error: shared data dir not found: {args.shared}", file=sys.stderr)
        return 2
    if not 0.0 <= args.keyword_share <= 1.0 or args.max_sentences < 1:
        print("error: --keyword-share must be in [0, 1] and --max-sentences >= 1", file=sys.stderr)
        return 2

    from detente.model.backends import load_predictor

    teacher = load_predictor(args.teacher, backend="torch")
    if (list(teacher.config.stance_labels), list(teacher.config.sentiment_labels)) != (
        list(STANCE_LABELS),
        list(SENTIMENT_LABELS),
    ):
        print("error: the teacher's label order differs from the student's", file=sys.stderr)
        return 2
    if args.agreement_with:
        student = load_predictor(args.agreement_with, backend="torch")
        texts = sample_texts(args.shared, args.max_sentences, args.keyword_share, args.seed, "dev")
        result = label_agreement(student, teacher, texts, args.batch_size)
        print(json.dumps({"student": args.agreement_with, "teacher": args.teacher, **result}))
        return 0
    texts = sample_texts(args.shared, args.max_sentences, args.keyword_share, args.seed)
    print(f"teacher {args.teacher}: labelling {len(texts)} train-split sentences", file=sys.stderr)
    stance, sentiment = teacher.predict_probs(
        texts, [TARGET] * len(texts), batch_size=args.batch_size, show_progress=True
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for i, text in enumerate(texts):
            row = {
                "text": text,
                "target": TARGET,
                "stance_probs": [round(float(p), 5) for p in stance[i]],
                "sentiment_probs": [round(float(p), 5) for p in sentiment[i]],
            }
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
