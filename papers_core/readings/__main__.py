"""``python -m papers_core.readings kanon|mat``: run a readings study and store it under ``results/studies``."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import KANON_CSV, MAT_CSV, MAT_MSSIM_CSV, STUDIES, write_study
from .kanon import kanon_readings
from .mat import mat_mssim_readings, mat_readings


def main(argv=None) -> None:
    from ..runs import QUICK_THREADS, git_commit, set_cpu_threads

    ap = argparse.ArgumentParser(description="Candidate readings behind the K-anonymity and MAT pages' gaps to the "
                                             "papers' Table 1, on the embedded real-MNIST subset (stored studies).")
    ap.add_argument("study", choices=["kanon", "mat"])
    ap.add_argument("--n", type=int, default=100, help="kanon: attacked test images per classifier")
    ap.add_argument("--out-dir", type=Path, default=STUDIES)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    set_cpu_threads(QUICK_THREADS)
    commit = git_commit(Path(__file__).resolve().parents[2])
    command = " ".join(["python -m papers_core.readings", *argv])
    t0 = time.perf_counter()
    show = lambda row: print(row, flush=True)  # noqa: E731
    if args.study == "kanon":
        df = kanon_readings(args.n, progress=show)
        write_study(df, args.out_dir / KANON_CSV.name, command, commit, t0)
    else:
        ms = mat_mssim_readings()
        write_study(ms, args.out_dir / MAT_MSSIM_CSV.name, command, commit, t0)
        print(ms.round(3).to_string())
        df = mat_readings(progress=show)
        write_study(df, args.out_dir / MAT_CSV.name, command, commit, t0)
    print(df.round(3).to_string())


if __name__ == "__main__":
    main()
