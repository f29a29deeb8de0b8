"""Performance figures of the danger screen, printed (never asserted).

The screen runs on every free text, inside the flow step: its cost per message must stay well under a
millisecond, and loading it must not slow start-up noticeably. Measured on the whole corpus (all four
languages, short chat lines and long teacher messages), cold (first sight of each word) and warm.
Each figure is given as CPU time of this thread (what the screen costs, even when the machine is shared
and the process is preempted) and as wall-clock time (what a person would wait, preemption included).

Run: `make bench` or `.venv/bin/python -m bench.screen [--rounds N]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from flows.screen.corpus import examples
from flows.screen.screen import LANGS


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_load() -> tuple[float, float]:
    """Seconds to import and build the screen in a fresh interpreter: (import + build, build alone)."""
    code = (
        "import time; t0 = time.thread_time()\n"
        "from flows.screen import screen as s\n"
        "t1 = time.thread_time(); s.load_screen(); t2 = time.thread_time()\n"
        "print(t2 - t0, t2 - t1)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


Timings = dict[str, list[float]]


def bench_check(rounds: int) -> tuple[Timings, Timings, int]:
    """µs per message, CPU and wall: the first pass over the corpus (stems not yet cached), then warm passes."""
    from flows.screen import load_screen

    screen = load_screen()
    texts = [(ex.text, lang) for lang in LANGS for ex in examples(lang)]

    def one_pass(into: Timings) -> None:
        for text, lang in texts:
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            screen.check(text, lang)
            into["cpu"].append((time.thread_time_ns() - c0) / 1000)
            into["wall"].append((time.perf_counter_ns() - w0) / 1000)

    cold: Timings = {"cpu": [], "wall": []}
    one_pass(cold)
    warm: Timings = {"cpu": [], "wall": []}
    for _ in range(rounds):
        one_pass(warm)
    return cold, warm, len(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    total, build = bench_load()
    print(f"danger screen start-up: {total * 1000:.0f} ms CPU to import and build (lexicons and models: "
          f"{build * 1000:.0f} ms), once per process")
    cold, warm, n = bench_check(args.rounds)
    print(f"danger screen per message, {n} corpus messages in 4 languages:")
    for name, timings in (("first pass", cold), (f"warm, {args.rounds} passes", warm)):
        for kind in ("cpu", "wall"):
            values = timings[kind]
            print(f"  {name:18} {kind:4}  median {statistics.median(values):6.1f} µs"
                  f"   p99 {_percentile(values, 0.99):7.1f} µs   max {max(values):8.1f} µs")


if __name__ == "__main__":
    main()
