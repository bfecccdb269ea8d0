"""`flask backup` and `flask restore`: encrypted archives of the database, keys and evidence."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from survey import backup as service
from survey.sampling import crypto


@click.command("backup")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (encrypted with SURVEY_BACKUP_KEY).")
@click.option("--generate-key", is_flag=True, help="Print a new backup key and stop.")
@with_appcontext
def backup(out, generate_key):
    """Write an encrypted archive of the database, the instance keys and the evidence files."""
    if generate_key:
        click.echo(crypto.new_key())
        return
    if out is None:
        raise click.UsageError("give --out FILE (or --generate-key)")
    try:
        manifest = service.backup(current_app._get_current_object(), out)
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(manifest["tables"].values())
    click.echo(f"backup written: {out} ({manifest['dialect']}, revision {manifest['revision']}, "
               f"{len(manifest['tables'])} tables, {rows} rows)")
    if manifest["frame_key"]["source"] == "environment":
        click.echo("the frame key comes from SURVEY_FRAME_KEY and is NOT in the archive: keep it with the "
                   f"backup key (fingerprint {manifest['frame_key']['fingerprint']})")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Replace a database that has tables; accept another SURVEY_FRAME_KEY.")
@with_appcontext
def restore(archive, force):
    """Restore an archive made by `flask backup` into this instance's (empty) database."""
    app = current_app._get_current_object()
    try:
        result = service.restore(app, archive, force=force)
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    header = result.header
    click.echo(f"restored {archive} (made {header['created']}, revision {header['revision']}); "
               f"instance files: {', '.join(result.instance_files) or 'none'}; "
               f"evidence files: {result.evidence_files}")
    for name in result.kept:
        click.echo(f"the previous {name} was kept as {name}.before-restore")
    if result.mismatched:
        lines = ", ".join(f"{name}: {want} in the archive, {got} here"
                          for name, (want, got) in result.mismatched.items())
        raise click.ClickException(f"row counts differ after the restore: {lines}")
    click.echo("row counts match the archive's")
    from survey import migrate

    if header["revision"] not in migrate.heads():
        click.echo("the archive is at an older schema revision: run `flask --app survey db upgrade`")
