"""What speaker attribution costs next to scoring, per 1,000 sentences.

    python benchmarks/bench_speakers.py [--model default|DIR] [--n 1000] [--runs 5] [--backend B]

Whole articles of real news (../shared/data: the example pages and the GDELT Ukraine-war
articles; without it, the project's example article and the team-written labelled articles),
taken in order until they hold at least N sentences. Each article is extracted, segmented and
marked for boilerplate once (untimed: the scorer does this anyway). Then, on the same
sentences:
- attribution: `RuleAttributor.attribute` over every article, `--runs` times, median;
- scoring: the model's stance and sentiment pass over every sentence (the loaded backend,
  batch 32), once untimed to warm up, then timed.

Prints ms per 1,000 sentences for both, attribution's share of scoring time and the CPU, and
writes benchmarks/results/speakers.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET = "negotiations"


def article_paths(data_root: Path) -> tuple[list[Path] | list[str], str]:
    paths: list[Path] = []
    if data_root.is_dir():
        paths += sorted((data_root / "examples").glob("*.txt"))
        paths += sorted((data_root / "news" / "ukraine_war_gdelt" / "articles").glob("*.txt"))
    if paths:
        return paths, f"{data_root}/examples + news/ukraine_war_gdelt/articles"
    import yaml

    common.note(f"{data_root} not found: using the project's own articles, repeated")
    labelled = common.ROOT / "tests" / "data" / "speakers" / "articles.yaml"
    texts = [a["text"] for a in yaml.safe_load(labelled.read_text())["articles"]]
    texts.append((common.ROOT / "examples" / "article.txt").read_text(encoding="utf-8"))
    return texts, "examples/article.txt + tests/data/speakers/articles.yaml"


def prepare(n: int, data_root: Path):
    from detente.serving.boilerplate import mark_boilerplate
    from detente.serving.extract import extract
    from detente.serving.segment import segment

    sources, origin = article_paths(data_root)
    articles = []
    total = 0
    index = 0
    while total < n:
        source = sources[index % len(sources)]
        index += 1
        raw = (
            source.read_text(encoding="utf-8", errors="replace")
            if isinstance(source, Path)
            else source
        )
        text = extract(raw, "auto").text
        segments = segment(text)
        if not segments:
            continue
        skip = [reason is not None for reason in mark_boilerplate(segments)]
        articles.append((text, segments, skip))
        total += len(segments)
    return articles, total, origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--n", type=int, default=1000, help="at least this many sentences")
    parser.add_argument("--runs", type=int, default=5, help="timed attribution passes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="torch", help="torch (the CLI default), auto, ...")
    parser.add_argument("--data-root", type=Path, default=common.DEFAULT_DATA_ROOT)
    args = parser.parse_args()

    from detente.serving.scorer import Scorer
    from detente.serving.speakers import RuleAttributor

    warning = common.check_load()
    if warning:
        common.note(warning)
    articles, sentences, origin = prepare(args.n, args.data_root)
    attributor = RuleAttributor()

    attributed = 0
    times = []
    for run in range(args.runs + 1):  # the first pass warms the regex caches, untimed
        start = time.perf_counter()
        results = [attributor.attribute(text, segs, skip) for text, segs, skip in articles]
        elapsed = time.perf_counter() - start
        if run:
            times.append(elapsed)
        attributed = sum(a.speaker is not None for result in results for a in result)
    attribution_s = statistics.median(times)

    directory, trained = common.resolve_model(args.model)
    scorer = Scorer.load(directory, backend=args.backend, threads=args.threads)
    texts = [" ".join(s.text.split()) for _, segs, _ in articles for s in segs]
    scorer.predictor.predict_probs(texts[:64], [TARGET] * 64, batch_size=32)  # warm-up
    start = time.perf_counter()
    scorer.predictor.predict_probs(texts, [TARGET] * len(texts), batch_size=32)
    scoring_s = time.perf_counter() - start

    info = common.machine()
    per_k = 1000 / sentences
    result = {
        "sentences": sentences,
        "articles": len(articles),
        "source": origin,
        "attributed_sentences": attributed,
        "attribution_ms_per_1000": round(attribution_s * 1000 * per_k, 2),
        "scoring_ms_per_1000": round(scoring_s * 1000 * per_k, 1),
        "attribution_share_of_scoring": round(attribution_s / scoring_s, 5),
        "runs": args.runs,
        "threads": args.threads,
        "model": str(directory),
        "trained_model": trained,
        "backend": getattr(scorer.predictor, "name", "unknown"),
        "machine": info,
    }
    print(f"CPU: {info.get('cpu', 'unknown')} ({info.get('cpus_usable')} usable cores)")
    print(f"{sentences} sentences in {len(articles)} articles from {origin}")
    print(f"  {attributed} sentences attributed to a speaker")
    print(
        f"  attribution: {result['attribution_ms_per_1000']:>10.2f} ms per 1,000 sentences "
        f"(median of {args.runs})"
    )
    print(
        f"  scoring:     {result['scoring_ms_per_1000']:>10.1f} ms per 1,000 sentences "
        f"({result['backend']}, {args.threads} threads, batch 32)"
    )
    print(f"  attribution / scoring: {100 * result['attribution_share_of_scoring']:.2f}%")
    common.write_json("speakers.json", result)


if __name__ == "__main__":
    main()
