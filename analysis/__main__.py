"""Command line: ``python -m analysis --export DIR --out DIR``, or ``--responses R.csv --strata S.csv
--questionnaire Q.json --framework F.json --out DIR``, writes the full report without the app.

Questionnaires and frameworks are read as the app exports them (``flask --app survey analysis
export``): the validated, frozen documents in canonical JSON. YAML files are not read here: the one
reader of YAML (and its checks) is the app's, ``flask --app survey questionnaires validate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .quality import QualityPolicy
from .report import TooManyReplicates, write_report


class DocumentError(ValueError):
    """A questionnaire or framework file this command does not read; the message is one line."""


def read_document(path: str | Path) -> dict:
    """One exported questionnaire or framework document (canonical JSON)."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        raise DocumentError(f"{path}: YAML is not read here; validate and export it with the app "
                            "(flask --app survey analysis export) and pass the .json documents")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"{path}: not a JSON document ({exc})") from None
    if not isinstance(document, dict) or "id" not in document:
        raise DocumentError(f"{path}: not a questionnaire or framework document")
    return document


def read_export(folder: str | Path) -> tuple[list[dict], list[dict]]:
    """The questionnaire and framework documents of an export folder, told apart by ``kind``."""
    questionnaires, frameworks = [], []
    for path in sorted(Path(folder).glob("*.json")):
        if path.name == "versions.json":
            continue
        document = read_document(path)
        (frameworks if document.get("kind") == "framework" else questionnaires).append(document)
    return questionnaires, frameworks


def _read_responses(path: str | Path) -> pd.DataFrame:
    """The responses CSV with codes kept as text and ``seconds__*`` as numbers."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    for col in frame.columns:
        if col.startswith("seconds__"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def _inputs(args, parser) -> tuple:
    """Responses, strata, questionnaires and frameworks from ``--export`` or the single files."""
    if args.export:
        folder = Path(args.export)
        questionnaires, frameworks = read_export(folder)
        responses, strata = folder / "responses.csv", folder / "strata.csv"
        strata = strata if strata.is_file() else None  # as the app passes it, even with no rows
    else:
        if not (args.responses and args.questionnaire and args.framework):
            parser.error("give --export DIR, or --responses, --questionnaire and --framework")
        questionnaires = [read_document(p) for p in args.questionnaire]
        frameworks = [read_document(p) for p in args.framework]
        responses, strata = args.responses, args.strata
    strata = pd.read_csv(strata, dtype={"stratum": str, "unit": str, "group": str},
                         encoding="utf-8-sig") if strata else None
    return _read_responses(responses), strata, questionnaires, frameworks


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run :func:`analysis.report.write_report`, print the files written."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    parser.add_argument("--export", help="a folder written by `flask analysis export`")
    parser.add_argument("--responses", help="responses CSV exported by the app")
    parser.add_argument("--strata", help="strata CSV (omit for an open-link wave: unweighted)")
    parser.add_argument("--questionnaire", action="append", help="questionnaire document (.json)")
    parser.add_argument("--framework", action="append", help="framework document (.json)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--wave", help="wave to analyse when the export holds several")
    parser.add_argument("--exclude-speeders", action="store_true")
    parser.add_argument("--exclude-straightliners", action="store_true")
    parser.add_argument("--speeder-ratio", type=float, default=0.3,
                        help="flag total time below this share of the median (default 0.3)")
    parser.add_argument("--replicates", choices=["bootstrap", "jackknife"],
                        help="add replicate weights repw_1..repw_R to the .sav/.dta (analysis.replicates)")
    parser.add_argument("--replicate-count", type=int, default=200, help="bootstrap replicates (default 200)")
    args = parser.parse_args(argv)
    try:
        responses, strata, questionnaires, frameworks = _inputs(args, parser)
    except DocumentError as exc:
        print(exc, file=sys.stderr)
        return 2
    policy = QualityPolicy(exclude_speeders=args.exclude_speeders,
                           exclude_straightliners=args.exclude_straightliners,
                           speeder_ratio=args.speeder_ratio)
    try:
        files = write_report(responses, strata, questionnaires, frameworks, args.out, policy, wave=args.wave,
                             replicates=args.replicates, n_replicates=args.replicate_count)
    except TooManyReplicates as exc:
        print(exc, file=sys.stderr)
        return 2
    for name in sorted(files):
        print(files[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
