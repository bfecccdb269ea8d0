"""`flask` commands: thin wrappers over the services; each commits once."""

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach every command group to the app."""
    from survey.cli import analysis, database, questionnaires, responses, setup, units, users

    for group in (database.db, questionnaires.questionnaires, units.units, units.groups,
                  users.users, analysis.analysis, responses.responses):
        app.cli.add_command(group)
    app.cli.add_command(setup.setup)
