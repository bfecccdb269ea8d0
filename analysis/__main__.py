"""Command line: ``python -m analysis --responses R.csv --strata S.csv --questionnaire Q.yaml
--framework F.yaml --out DIR`` writes the full report without the app."""

from __future__ import annotations

import argparse
import sys

import pandas as pd
import yaml

from .quality import QualityPolicy
from .report import write_report


def _load_yaml(path: str) -> dict:
    """One YAML document."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _read_responses(path: str) -> pd.DataFrame:
    """The responses CSV with codes kept as text and ``seconds__*`` as numbers."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    for col in frame.columns:
        if col.startswith("seconds__"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run :func:`analysis.report.write_report`, print the files written."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    parser.add_argument("--responses", required=True, help="responses CSV exported by the app")
    parser.add_argument("--strata", help="strata CSV (omit for an open-link wave: unweighted)")
    parser.add_argument("--questionnaire", action="append", required=True, help="questionnaire YAML")
    parser.add_argument("--framework", action="append", required=True, help="framework YAML")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--wave", help="wave to analyse when the export holds several")
    parser.add_argument("--exclude-speeders", action="store_true")
    parser.add_argument("--exclude-straightliners", action="store_true")
    parser.add_argument("--speeder-ratio", type=float, default=0.3,
                        help="flag total time below this share of the median (default 0.3)")
    args = parser.parse_args(argv)
    responses = _read_responses(args.responses)
    strata = pd.read_csv(args.strata, dtype={"stratum": str, "unit": str, "group": str},
                         encoding="utf-8-sig") if args.strata else None
    questionnaires = [_load_yaml(p) for p in args.questionnaire]
    frameworks = [_load_yaml(p) for p in args.framework]
    policy = QualityPolicy(exclude_speeders=args.exclude_speeders,
                           exclude_straightliners=args.exclude_straightliners,
                           speeder_ratio=args.speeder_ratio)
    files = write_report(responses, strata, questionnaires, frameworks, args.out, policy, wave=args.wave)
    for name in sorted(files):
        print(files[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
