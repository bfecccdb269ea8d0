"""`flask index compute YEAR`: the overall index of every unit for a year, as the page shows it."""

import math

import click
from flask.cli import AppGroup

from survey.db import db
from survey.overall.service import compute_year


@click.group("index", cls=AppGroup)
def index():
    """The overall PAR index per unit and year."""


def _num(value: float | None) -> str:
    """A number with two decimals, or a dash."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}"


@index.command("compute")
@click.argument("year", type=int)
def compute_command(year):
    """Print unit, group, points, index, 95% interval, grade, change, rank, rank range and joint rank set."""
    computed = compute_year(db.session, year)
    if computed.framework is None:
        raise click.ClickException("no PAR framework is published")
    click.echo(f"framework {computed.framework.definition['id']} {computed.framework.version}; "
               f"waves: {', '.join(computed.waves) or '-'}")
    click.echo("unit\tgroup\tpoints\tindex\tci_low\tci_high\tgrade\tchange\trank\trank_range\tjoint_rank_set"
               "\tmissing\tvariance")
    for r in computed.results:
        rank_range = f"{r.rank_best}-{r.rank_worst}" if r.rank else "cannot be ranked"
        joint = f"{r.joint_rank_best}-{r.joint_rank_worst}" if r.rank else "cannot be ranked"
        change = _num(r.change) + ("*" if r.previous_provisional else "")
        click.echo("\t".join([r.unit, r.group, _num(r.points), _num(r.index), _num(r.ci_low), _num(r.ci_high),
                              r.grade or "-", change, str(r.rank or "-"), rank_range, joint,
                              str(len(r.missing)), r.variance]))
