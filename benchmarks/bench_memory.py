"""Peak memory of `detente score` on one very large article (default 20 MB of text).

    python benchmarks/bench_memory.py [--model default|DIR] [--mb 20] [--kind prose|run]

Writes a text file of `--mb` megabytes (prose: the project's example article repeated; run: one
paragraph of words with no sentence end), scores it with `detente score ... -o out.jsonl` in a
child process, and reports the child's peak resident memory (ru_maxrss), the wall time, the
sentences scored and the CPU. The input and output go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def make_input(path: Path, megabytes: float, kind: str) -> int:
    size = int(megabytes * 1_000_000)
    if kind == "run":
        unit = "ceasefire talks resumed without delay "
    else:
        unit = (common.ROOT / "examples" / "article.txt").read_text(encoding="utf-8") + "\n\n"
    text = (unit * (size // len(unit) + 1))[:size]
    path.write_text(text, encoding="utf-8")
    return len(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", default="default")
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--kind", choices=["prose", "run"], default="prose")
    parser.add_argument("--backend", default="torch")
    args = parser.parse_args()
    warning = common.check_load()
    if warning:
        common.note(warning)
    with tempfile.TemporaryDirectory() as directory:
        source, output = Path(directory) / "big.txt", Path(directory) / "out.jsonl"
        chars = make_input(source, args.mb, args.kind)
        command = [
            str(Path(sys.executable).parent / "detente"),
            "score",
            str(source),
            "-o",
            str(output),
            "-m",
            args.model,
            "--backend",
            args.backend,
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"detente score failed: {done.stderr[-2000:]}")
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with output.open(encoding="utf-8") as handle:
            sentences = len(json.loads(handle.readline())["sentences"])
    result = {
        "input_mb": args.mb,
        "kind": args.kind,
        "characters": chars,
        "sentences": sentences,
        "model": args.model,
        "backend": args.backend,
        "peak_rss_mib": round(peak_mib, 1),
        "wall_s": round(wall, 1),
        "machine": common.machine(),
    }
    print(
        f"{args.mb} MB {args.kind} ({chars} characters, {sentences} sentences): peak RSS "
        f"{peak_mib:.0f} MiB, {wall:.0f} s with {args.model} ({args.backend}); "
        f"CPU: {result['machine'].get('cpu')}",
        flush=True,
    )
    common.write_json(f"memory-{args.kind}.json", result)


if __name__ == "__main__":
    main()
