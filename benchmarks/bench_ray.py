"""Articles per second: local scoring against `detente batch` on Ray with 1 and 2 workers.

    python benchmarks/bench_ray.py [--model default] [--articles 200] [--workers 1,2]

The same articles for everyone: real news sentences (../shared/data, else the project's example
article; see common.py) grouped `--sentences` to an article, written as JSONL files into a
temporary directory. Contenders:

- `local, N threads`: `Scorer.score_articles` in this process (what `detente score` runs), the
  model already loaded and warmed on two articles; 1 thread, and every CPU.
- `ray, N workers`: `run_batch` on a local Ray instance started once (no dashboard; its start
  is timed apart), N actors of 1 CPU / 1 torch thread each. The time is the whole job as a user
  waits for it: actors starting and loading the model, reading, scoring, and the driver writing
  one Parquet file per input file. The fixed part of that is measured on a 1-article input.

Prints a table and writes benchmarks/results/ray.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def write_articles(directory: Path, articles: list[str], files: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    per_file = -(-len(articles) // files)
    for f in range(files):
        chunk = articles[f * per_file : (f + 1) * per_file]
        lines = [json.dumps({"id": f"a{f}-{i}", "text": t}) for i, t in enumerate(chunk)]
        (directory / f"part-{f:03d}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def time_local(model: Path, articles: list[str], threads: int) -> dict[str, Any]:
    from detente.serving.scorer import Scorer

    started = time.perf_counter()
    scorer = Scorer.load(model, threads=threads)
    load = time.perf_counter() - started
    list(scorer.score_articles(articles[:2]))
    started = time.perf_counter()
    sentences = sum(len(r.sentences) for r in scorer.score_articles(articles))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "load_seconds": load, "sentences": sentences}


def actor_rss_mib() -> dict[str, float]:
    """Resident memory of each Ray Data scoring actor running now (by pid)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if proc.name.isdigit() and b"MapWorker" in title:
            rss = common.proc_status(proc.name).get("VmRSS")
            if rss:
                found[proc.name] = rss
    return found


def time_ray(model: Path, source: Path, workers: int) -> dict[str, Any]:
    from detente.serving.ray_batch import run_batch

    out = Path(tempfile.mkdtemp(prefix="bench-ray-out-"))
    peak: dict[str, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            for pid, rss in actor_rss_mib().items():
                peak[pid] = max(peak.get(pid, 0.0), rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        summary = run_batch(source, out, model=model, workers=workers, report=print)
    finally:
        stop.set()
        sampler.join()
        shutil.rmtree(out, ignore_errors=True)
    return {
        "seconds": summary.seconds,
        "sentences": summary.sentences,
        "files": summary.files_scored,
        "actor_peak_rss_mib": max(peak.values(), default=None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default", help="model directory, or 'default'")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--sentences", type=int, default=12, help="sentences per article")
    parser.add_argument("--files", type=int, default=8, help="input JSONL files")
    parser.add_argument("--workers", default="1,2", help="comma-separated actor counts")
    parser.add_argument("--data-root", type=Path, default=common.DEFAULT_DATA_ROOT)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()

    from transformers.utils import logging as hf_logging

    from detente.serving.ray_batch import start_ray

    hf_logging.disable_progress_bar()

    warning = common.check_load()
    if warning:
        common.note(warning)
    info = common.machine()
    model, trained = common.resolve_model(args.model)
    sentences, origin = common.news_sentences(args.articles * args.sentences, args.data_root)
    articles = [
        " ".join(sentences[i : i + args.sentences])
        for i in range(0, len(sentences), args.sentences)
    ]
    cpus = info["cpus_usable"] or os.cpu_count() or 1
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    print(
        f"{len(articles)} articles of {args.sentences} sentences ({origin}), {args.files} files, "
        f"model {model}, CPU {info.get('cpu', '?')} x {cpus}",
        flush=True,
    )

    rows: list[dict[str, Any]] = []
    for threads in sorted({1, cpus}):
        result = time_local(model, articles, threads)
        rows.append({"contender": f"local, {threads} thread(s)", **result})
        print(f"  local, {threads} thread(s): {len(articles) / result['seconds']:.1f} articles/s")

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        source, single = work / "in", work / "one"
        write_articles(source, articles, args.files)
        write_articles(single, articles[:1], 1)
        started = time.perf_counter()
        start_ray(None, num_cpus=max(workers) + 1)
        ray_start = time.perf_counter() - started
        print(f"  ray start: {ray_start:.1f} s", flush=True)
        overhead = time_ray(model, single, 1)["seconds"]
        print(f"  ray fixed cost (1-article job, 1 worker): {overhead:.1f} s", flush=True)
        for count in workers:
            result = time_ray(model, source, count)
            rows.append({"contender": f"ray, {count} worker(s)", **result})
            print(f"  ray, {count} worker(s): {len(articles) / result['seconds']:.1f} articles/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        import ray

        ray.shutdown()

    local_best = max(len(articles) / r["seconds"] for r in rows if r["contender"].startswith("l"))
    print()
    print(
        "| contender | seconds | articles/s | vs best local | articles/s less the fixed cost "
        "| actor peak RSS |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        rate = len(articles) / row["seconds"]
        row["articles_per_s"] = rate
        steady, rss = "-", "-"
        if row["contender"].startswith("ray"):
            if row["seconds"] > overhead:
                row["articles_per_s_less_fixed"] = len(articles) / (row["seconds"] - overhead)
                steady = f"{row['articles_per_s_less_fixed']:.1f}"
            if row.get("actor_peak_rss_mib"):
                rss = f"{row['actor_peak_rss_mib']:.0f} MiB"
        print(
            f"| {row['contender']} | {row['seconds']:.1f} | {rate:.2f} | "
            f"{rate / local_best:.2f}x | {steady} | {rss} |"
        )
    print(
        f"\nray start {ray_start:.1f} s (once); fixed cost of a job {overhead:.1f} s (in the ray rows)"
    )
    common.write_json(
        "ray.json",
        {
            "machine": info,
            "model": str(model),
            "trained_model": trained,
            "articles": len(articles),
            "sentences_per_article": args.sentences,
            "files": args.files,
            "source": origin,
            "load_warning": warning,
            "ray_start_seconds": ray_start,
            "ray_job_fixed_seconds": overhead,
            "results": rows,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
