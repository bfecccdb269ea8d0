"""`flask setup`: what `make run` does before serving: migrate, load, seed, print the links."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey import demo, migrate
from survey.db import db
from survey.definitions import bundle
from survey.instruments import frameworks as framework_service
from survey.instruments import service
from survey.sampling import crypto


@click.command("setup")
@with_appcontext
@click.option("--port", default=8000, show_default=True, help="Port the printed links use.")
@click.option("--demo/--no-demo", "with_demo", default=True, help="Seed the demo province.")
def setup(port, with_demo):
    """Create or migrate the database, load the bundled questionnaires, seed the demo once."""
    migrate.upgrade(current_app)
    if not current_app.config.get("FRAME_KEY") and crypto.ensure_key_file(current_app.instance_path):
        click.echo(f"frame key: created {crypto.key_path(current_app.instance_path)} (mode 600); back it up: "
                   "without it the sampling frame's contact details cannot be read")
    dirs = current_app.config["QUESTIONNAIRE_DIRS"]
    good, frameworks, errors = bundle.validate_with_frameworks(dirs, dirs)
    if errors:
        for line in errors:
            click.echo(line, err=True)
        raise click.ClickException("the bundled questionnaires do not validate")
    try:
        added = [q.id for q in good if service.publish(db.session, q) == "added"]
        added_frameworks = [f.id for f in frameworks.values()
                            if framework_service.publish(db.session, f) == "added"]
    except service.VersionConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing loaded: {exc}") from None
    framework_service.pin_unpinned(db.session)
    db.session.commit()
    click.echo(f"questionnaires: {len(good)} bundled, {len(added)} newly loaded")
    click.echo(f"frameworks: {len(frameworks)} bundled, {len(added_frameworks)} newly loaded")
    if not with_demo:
        return
    if current_app.config["ENV"] == "production":
        raise click.ClickException("refusing to seed demo data in production")
    links = demo.seed(db.session, current_app.config["TOKEN_KEY"])
    db.session.commit()
    base = f"http://127.0.0.1:{port}"
    click.echo("demo province: " + ("seeded" if links.created else "already seeded, nothing added"))
    click.echo(f"\n  Staff login:  {base}/staff/login")
    click.echo(f"                email {demo.COORDINATOR_EMAIL}  password {demo.COORDINATOR_PASSWORD}")
    click.echo(f"  Citizen (SIPAS) invitation:        {base}/r/{links.citizen_token}")
    click.echo(f"  Commune leader (rates 3 agencies): {base}/r/{links.leader_token}\n")
