"""Time item selection on the TACOS event tables against a naive baseline.

    python bench/bench_selection.py [--events-dir DIR] [--repeat 5]

By default it times the test table shipped with the package (2,000 clips; works on a plain clone,
offline).  With ``--events-dir DIR`` (a folder holding events_test.csv, events_val.csv and
events_train.csv, e.g. from ``tacos_temporal.data.sources.fetch_event_table``) it times all three
(12,358 clips).

Both run in this process, so the ratio is meaningful on a noisy machine; absolute times are
printed for reference only.  The baseline is the straightforward pandas version of the same rules
(group rows per clip, rank labels per task); it must select the same items (checked).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from tacos_temporal.data.events import parse_intervals, read_event_table
from tacos_temporal.data.sources import bundled_event_table
from tacos_temporal.data.selection import select_items
from tacos_temporal.names import MARGIN_TOLERANCE_S, MARGINS_S, TASKS

SPLITS = ("test", "val", "train")


def ours(paths: list[Path]) -> set[tuple[str, str, str]]:
    out = set()
    for path in paths:
        for item in select_items(read_event_table(path)):
            out.add((item.task, item.filename, item.answer_label))
    return out


def naive(paths: list[Path]) -> set[tuple[str, str, str]]:
    import pandas as pd

    out = set()
    for path in paths:
        frame = pd.read_csv(path)
        frame = frame[frame["intervals"].map(lambda t: all(s < e and s >= 0 for s, e in parse_intervals(t)))]
        frame["onset"] = frame["intervals"].map(lambda t: min(s for s, _ in parse_intervals(t)))
        frame["offset"] = frame["intervals"].map(lambda t: max(e for _, e in parse_intervals(t)))
        frame["duration"] = frame["intervals"].map(lambda t: sum(e - s for s, e in parse_intervals(t)))
        for filename, group in frame.groupby("filename"):
            if len(group) < 2:
                continue
            for task, column, ascending in (
                ("earliest_onset", "onset", True),
                ("latest_offset", "offset", False),
                ("longest_duration", "duration", False),
            ):
                ranked = group.sort_values(column, ascending=ascending)
                margin = abs(ranked[column].iloc[0] - ranked[column].iloc[1])
                if margin >= MARGINS_S[task] - MARGIN_TOLERANCE_S:
                    out.add((task, filename, ranked["subclass"].iloc[0]))
    return out


def timed(fn, paths, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(paths)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-dir", type=Path, help="folder with events_test/val/train.csv (default: the shipped test table only)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    splits = SPLITS if args.events_dir is not None else ("test",)
    paths = [args.events_dir / f"events_{split}.csv" for split in SPLITS] if args.events_dir is not None else [bundled_event_table()]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"error: missing event table(s): {', '.join(missing)}; --events-dir needs events_test.csv, events_val.csv and events_train.csv")
    import pandas  # noqa: F401  - imported before timing so neither side pays for it

    t_naive, r_naive = timed(naive, paths, args.repeat)
    t_ours, r_ours = timed(ours, paths, args.repeat)
    if r_naive != r_ours:
        raise SystemExit(f"the two implementations disagree on {len(r_naive ^ r_ours)} items")
    per_task = {task: sum(1 for t, _, _ in r_ours if t == task) for task in TASKS}
    print(f"items over {', '.join(splits)}: {len(r_ours)} {per_task}")
    print(f"select_items (read + select + options): {t_ours * 1000:.0f} ms (median of {args.repeat})")
    print(f"naive pandas baseline (no options):     {t_naive * 1000:.0f} ms")
    print(f"speed-up: {t_naive / t_ours:.1f}x")


if __name__ == "__main__":
    main()
