"""Reference points on the same examples: majority class, TF-IDF + logistic regression, VADER.

Each baseline returns predicted label indices for the evaluated examples of one head, or None
with a note saying why it was skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

VADER_THRESHOLD = 0.05


def pair_text(text: str, target: str | None) -> str:
    """The baseline's view of a (target, text) pair: the target's words are features too."""
    return f"{target} :: {text}" if target else text


def majority(
    train_labels: Sequence[str], eval_gold: np.ndarray, labels: Sequence[str]
) -> tuple[np.ndarray, str]:
    """Always predict the most frequent training label (the evaluated set's own if none)."""
    known = [label for label in train_labels if label in labels]
    if known:
        winner = labels.index(Counter(known).most_common(1)[0][0])
        note = f"majority of {len(known)} training labels: {labels[winner]}"
    else:
        winner = int(np.bincount(eval_gold, minlength=len(labels)).argmax())
        note = f"no training labels: majority of the evaluated set itself ({labels[winner]})"
    return np.full(len(eval_gold), winner, dtype=int), note


def tfidf_lr(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    eval_texts: Sequence[str],
    labels: Sequence[str],
    seed: int = 0,
) -> tuple[np.ndarray | None, str]:
    """Word 1-2-gram TF-IDF and a class-balanced logistic regression, fit on the training data."""
    pairs = [(t, y) for t, y in zip(train_texts, train_labels, strict=True) if y in labels]
    classes = {y for _, y in pairs}
    if len(classes) < 2:
        return None, (
            "skipped: the data spec names no training corpora with these labels"
            if not pairs
            else f"skipped: training labels hold a single class ({next(iter(classes))})"
        )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed),
    )
    pipeline.fit([t for t, _ in pairs], [labels.index(y) for _, y in pairs])
    note = f"trained on {len(pairs)} labelled training examples"
    return pipeline.predict(list(eval_texts)).astype(int), note


def vader_labels(texts: Sequence[str]) -> list[str]:
    """VADER compound score: >= 0.05 positive, <= -0.05 negative, otherwise neutral."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out = []
    for text in texts:
        compound = analyzer.polarity_scores(text)["compound"]
        if compound >= VADER_THRESHOLD:
            out.append("positive")
        elif compound <= -VADER_THRESHOLD:
            out.append("negative")
        else:
            out.append("neutral")
    return out


def vader(texts: Sequence[str], labels: Sequence[str]) -> tuple[np.ndarray | None, str]:
    if not {"negative", "neutral", "positive"} <= set(labels):
        return None, "skipped: the head's labels are not negative / neutral / positive"
    predicted = np.array([labels.index(y) for y in vader_labels(texts)], dtype=int)
    return predicted, f"compound score thresholds +-{VADER_THRESHOLD}"
