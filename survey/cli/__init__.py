"""`flask` commands: thin wrappers over the services; each commits once."""

import functools

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from survey import migrate

# Commands that run without a database at the newest revision: they create or migrate it, or only
# read files (flask-smorest's `openapi print|write` writes the API's OpenAPI document from the code),
# or check the database themselves (`backup` is taken before `db upgrade`; `restore` fills an empty
# database and says when to upgrade). Every other command first checks the schema and says in one
# line what to run.
NO_DATABASE = {"db", "setup", "questionnaires validate", "openapi", "backup", "restore"}
# Commands that need no database when one of their options is given.
NO_DATABASE_WITH = {"questionnaires import-xlsform": "out"}  # --out writes YAML, publishes nothing


def register_commands(app: Flask) -> None:
    """Attach every command group to the app, each command behind the schema check."""
    from survey.cli import (  # invitations adds invite, links and send to `waves`
        analysis,
        assessments,
        backup,
        database,
        frameworks,
        invitations,  # noqa: F401
        jobs,
        overall,
        questionnaires,
        responses,
        setup,
        units,
        users,
        waves,
    )

    for group in (database.db, questionnaires.questionnaires, units.units, units.groups,
                  users.users, analysis.analysis, responses.responses, waves.waves, jobs.jobs,
                  frameworks.frameworks, overall.index, assessments.assessments):
        app.cli.add_command(group)
        for name, command in group.commands.items():
            _guard(f"{group.name} {name}", command)
    app.cli.add_command(setup.setup)
    # Unguarded: a backup is taken before `db upgrade`, and a restore fills an empty database.
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)


def _guard(name: str, command: click.Command) -> None:
    """Make a command refuse to run, with the command to run instead, before the schema is ready."""
    if name in NO_DATABASE or name.split()[0] in NO_DATABASE or getattr(command, "_guarded", False):
        return
    callback = command.callback
    option = NO_DATABASE_WITH.get(name)

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        if not (option and kwargs.get(option)):
            problem = migrate.schema_problem(current_app)
            if problem is not None:
                raise click.ClickException(problem)
        return callback(*args, **kwargs)

    command.callback = with_appcontext(guarded)
    command._guarded = True  # create_app runs once per app; the command objects are module-level
