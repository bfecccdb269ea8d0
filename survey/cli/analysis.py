"""`flask analysis ...`: export a wave for analysis and write its report."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey.db import db
from survey.sampling.models import Wave


@click.group("analysis", cls=AppGroup)
def analysis():
    """Index components with standard errors and confidence intervals."""


def _wave(code: str) -> Wave:
    """Return the wave with the code, or stop with a clear message."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        raise click.ClickException(f"no wave {code!r}")
    return wave


@analysis.command("export")
@click.option("--wave", "code", required=True, help="Wave code.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
def export_command(code, out):
    """Write responses.csv, strata.csv and the questionnaire/framework files of a wave."""
    from survey.responses import export  # pandas loads only for the commands that need it

    written, notes = export.write_export(db.session, _wave(code), out,
                                         current_app.config["QUESTIONNAIRE_DIRS"])
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    click.echo("\n".join(str(p) for p in written))


@analysis.command("report")
@click.option("--wave", "code", required=True, help="Wave code.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--exclude-speeders/--keep-speeders", default=False, show_default=True)
@click.option("--exclude-straightliners/--keep-straightliners", default=False, show_default=True)
@click.option("--replicates", type=click.Choice(["bootstrap", "jackknife"]), default=None,
              help="Add replicate weights repw_1..repw_R to responses.sav/.dta (with replicate_weights.txt).")
@click.option("--replicate-count", type=click.IntRange(2, 1000), default=200, show_default=True,
              help="Bootstrap replicates.")
def report_command(code, out, exclude_speeders, exclude_straightliners, replicates, replicate_count):
    """Write every table, chart, data file (.sav, .dta) and the HTML summary of a wave."""
    from analysis.quality import QualityPolicy
    from analysis.report import TooManyReplicates
    from survey.responses import export

    wave = _wave(code)
    policy = QualityPolicy(exclude_speeders=exclude_speeders,
                           exclude_straightliners=exclude_straightliners)
    try:
        written, _count, found = export.write_wave_report(
            db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"], out, policy=policy,
            replicates=replicates, n_replicates=replicate_count)
    except (export.NoResponses, TooManyReplicates) as exc:
        raise click.ClickException(str(exc)) from None
    for note in found.notes:
        click.echo(f"warning: {note}", err=True)
    for name in sorted(written):
        click.echo(f"{name}: {written[name]}")
