"""`flask waves ...`: set up a survey wave and move it through draft → open → closed."""

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from survey.auth.models import record
from survey.db import db
from survey.sampling import service
from survey.sampling.models import Invitation, Wave, WaveUnit

UNIT_KINDS = ("agency", "commune", "ward", "special_zone")

@click.group("waves", cls=AppGroup)
def waves():
    """Survey waves: create, assign questionnaires and units, open, close."""

def _commit(action: str, wave: Wave, **details) -> None:
    """Audit and commit what a command did."""
    record(db.session, action, target=f"wave:{wave.code}", **details)
    db.session.commit()

def _refused(exc: service.WaveError):
    """Turn a refused change into a one-line error, writing nothing."""
    db.session.rollback()
    return click.ClickException(str(exc))

@waves.command("list")
def list_command():
    """List waves with their status, dates, groups, units and invitations."""
    for wave in db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)):
        units = db.session.scalar(select(func.count()).select_from(WaveUnit).filter_by(wave_id=wave.id))
        invited = db.session.scalar(select(func.count()).select_from(Invitation).filter_by(wave_id=wave.id))
        groups = ", ".join(sorted(g.group.code for g in wave.groups)) or "-"
        click.echo(f"{wave.code}\t{wave.status}\t{wave.opens_on}..{wave.closes_on}\tgroups: {groups}\t"
                   f"units: {units}\tinvitations: {invited}")

@waves.command("create")
@click.argument("code")
@click.option("--year", type=int, required=True)
@click.option("--name", required=True, help="Vietnamese name, e.g. 'Khảo sát CCHC năm 2026'.")
@click.option("--name-en", default=None)
@click.option("--opens", "opens_on", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--closes", "closes_on", type=click.DateTime(["%Y-%m-%d"]), required=True)
def create_command(code, year, name, name_en, opens_on, closes_on):
    """Create a wave in draft."""
    try:
        wave = service.create_wave(db.session, code, year, name, opens_on.date(), closes_on.date(),
                                   name_en=name_en)
    except service.WaveError as exc:
        raise _refused(exc) from None
    _commit("wave.created", wave)
    click.echo(f"wave {wave.code} created (draft)")

@waves.command("assign")
@click.argument("code")
@click.option("--group", "group_code", required=True, help="Respondent group code.")
@click.option("--questionnaire", required=True, help="Questionnaire id, e.g. sipas-service.")
@click.option("--version", default=None, help="Published version (default: the newest).")
def assign_command(code, group_code, questionnaire, version):
    """Give a respondent group a published questionnaire version in a draft wave."""
    try:
        wave = service.find_wave(db.session, code)
        assigned = service.assign_group(db.session, wave, group_code, questionnaire, version)
    except service.WaveError as exc:
        raise _refused(exc) from None
    chosen = assigned.questionnaire_version
    _commit("wave.group_assigned", wave, group=group_code, questionnaire=questionnaire,
            version=chosen.version)
    click.echo(f"wave {code}: group {group_code} answers {questionnaire} {chosen.version}")

@waves.command("units")
@click.argument("code")
@click.option("--under", "root", required=True, help="Code of a unit: it and the units under it.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(UNIT_KINDS),
              help="Only these kinds (default: agencies and commune-level units).")
def units_command(code, root, kinds):
    """Add the assessed units of a draft wave: a subtree of the unit tree."""
    try:
        wave = service.find_wave(db.session, code)
        chosen = service.subtree(db.session, root, tuple(kinds) or UNIT_KINDS, on=wave.opens_on)
        added = service.add_units(db.session, wave, chosen)
    except service.WaveError as exc:
        raise _refused(exc) from None
    _commit("wave.units_added", wave, under=root, added=added)
    click.echo(f"wave {code}: {added} unit(s) added, {len(chosen) - added} already in")

@waves.command("open")
@click.argument("code")
def open_command(code):
    """Open a draft wave for answers."""
    _move(code, "open")

@waves.command("close")
@click.argument("code")
def close_command(code):
    """Close an open wave: no more answers are taken."""
    _move(code, "closed")

def _move(code: str, status: str) -> None:
    """Move a wave to a status, or say why not."""
    try:
        wave = service.find_wave(db.session, code)
        service.set_status(db.session, wave, status)
    except service.WaveError as exc:
        raise _refused(exc) from None
    _commit(f"wave.{status}", wave)
    click.echo(f"wave {code} is {status}")

@waves.command("frame-import")
@click.argument("code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def frame_import_command(code, path):
    """Check a frame file (CSV UTF-8 or XLSX) and write it in one transaction, or nothing.

    Columns: unit_code, group_code, full_name, phone, email (required), stratum_code, cluster_code,
    position, workplace_code. It replaces the frame of each unit and group in the file.
    """
    from flask_babel import force_locale

    from survey.sampling import frame

    kind = frame.file_format(path.name)
    if kind is None:
        raise click.ClickException(f"{path}: give a .csv or .xlsx file; nothing imported")
    try:
        wave = service.find_wave(db.session, code)
        written = frame.import_frame(db.session, wave, path.read_bytes(), kind)
    except service.WaveError as exc:
        raise _refused(exc) from None
    except frame.FrameRefused as exc:
        db.session.rollback()
        with force_locale("en"):
            for problem in exc.problems:
                where = f"row {problem.row}" if problem.row else "file"
                click.echo(f"{path}: {where}: {problem}", err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s); nothing imported") from None
    _commit("frame.imported", wave, source=path.name, added=written.added, removed=written.removed)
    click.echo(f"wave {code}: {written.added} people written to the frame ({written.removed} replaced; "
               f"strata: {written.strata_created} new, {written.strata_updated} updated, "
               f"{written.strata_removed} removed)")

@waves.command("frame-encrypt")
def frame_encrypt_command():
    """Encrypt frame entries still holding plaintext contact details (from before migration 0005)."""
    changed = service.encrypt_legacy(db.session)
    record(db.session, "frame.encrypted", entries=changed)
    db.session.commit()
    click.echo(f"{changed} frame entr{'y' if changed == 1 else 'ies'} encrypted")

@waves.command("draw")
@click.argument("code")
@click.option("--method", type=click.Choice(["srs", "systematic"]), default="srs", show_default=True,
              help="Simple random sampling, or systematic (random start, fixed interval) within strata.")
@click.option("--size", type=int, default=None, help="People per stratum (capped at its population).")
@click.option("--margin", type=float, default=None,
              help="Or: target 95% margin of error of a proportion, e.g. 0.05 (sizes computed per stratum).")
@click.option("--formula", type=click.Choice(["cochran", "yamane"]), default="cochran", show_default=True,
              help="Size from --margin: Cochran with fpc, or n = N / (1 + N e²) (QĐ 1001/QĐ-BNV).")
@click.option("--p", "proportion", type=float, default=0.5, show_default=True,
              help="Expected proportion for --margin.")
@click.option("--deff", type=float, default=1.0, show_default=True, help="Design effect for --margin.")
@click.option("--clusters", type=int, default=None, help="Villages drawn per stratum (PPS by size).")
@click.option("--per-cluster", type=int, default=None, help="People drawn in each village drawn.")
@click.option("--group", "groups", multiple=True, help="Only strata of this respondent group (repeatable).")
@click.option("--seed", type=int, default=None, help="Seed (a new one is chosen and printed when absent).")
@click.option("--preview", is_flag=True, help="Show what the draw would select; write nothing.")
def draw_command(code, method, size, margin, formula, proportion, deff, clusters, per_cluster, groups, seed,
                 preview):
    """Draw the wave's sample: census of officials, SRS or systematic sampling of the others.

    The same frame, options and seed always select the same people. A draw replaces an earlier one
    of the same strata; it is refused once invitations exist for them or the wave is no longer a draft.
    """
    from survey.sampling import draw

    parameters = draw.DrawParameters(method=method, size=size, margin=margin, p=proportion, deff=deff,
                                     clusters=clusters, per_cluster=per_cluster, formula=formula)
    seed = draw.new_seed() if seed is None else seed
    try:
        wave = service.find_wave(db.session, code)
        if preview:
            planned = draw.preview(db.session, wave, parameters, seed, groups=set(groups))
        else:
            kept, planned = draw.draw(db.session, wave, parameters, seed, groups=set(groups))
    except service.WaveError as exc:
        raise _refused(exc) from None
    click.echo("stratum\tpopulation\tsample\tmargin\tclusters")
    for s in planned.strata:
        villages = "-" if s.clusters_drawn is None else f"{s.clusters_drawn}/{s.clusters_total}"
        kind = " (census)" if s.census else ""
        click.echo(f"{s.code}\t{s.population}\t{s.sample_size}{kind}\t±{100 * s.margin:.1f}%\t{villages}")
    total = f"{planned.selected} of {planned.population} people in {len(planned.strata)} strata, seed {seed}"
    if preview:
        db.session.rollback()
        click.echo(f"preview: {total}; nothing written")
        return
    _commit("wave.drawn", wave, draw=kept.id, method=kept.method, seed=seed, strata=kept.strata_count,
            selected=kept.selected)
    click.echo(f"wave {code}: drawn {total} (draw {kept.id})")
