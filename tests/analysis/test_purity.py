"""The analysis package stays pure: no web, database or app imports."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_importing_analysis_loads_no_web_or_database_package():
    """Importing analysis never pulls in flask, sqlalchemy or the app package 'survey'."""
    code = (
        "import analysis, analysis.estimate, analysis.weighting, analysis.weights, analysis.indices, "
        "analysis.quality, analysis.outputs, analysis.plots, analysis.report, analysis.__main__, "
        "analysis.overall, analysis.overall_inputs, sys; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'survey', 'sqlalchemy'}); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
