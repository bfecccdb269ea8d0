"""Before set-up, every page and command says in one line what to run, instead of a SQL traceback."""

import pytest

from survey import migrate
from survey.cli import NO_DATABASE, NO_DATABASE_WITH

SETUP = "flask --app survey setup"
UPGRADE = "flask --app survey db upgrade"


def commands(app):
    """Yield (full name, command) for every command of ours (not Flask's built-in ones)."""
    for name, command in app.cli.commands.items():
        if name in ("run", "shell", "routes"):
            continue
        for sub, leaf in getattr(command, "commands", {name: command}).items():
            yield (f"{name} {sub}" if sub != name else name), leaf


def test_every_command_is_guarded_or_needs_no_database(fresh):
    """A new command cannot forget the check: it is guarded unless listed as needing no database."""
    for name, command in commands(fresh):
        exempt = name in NO_DATABASE or name.split()[0] in NO_DATABASE
        assert exempt or getattr(command, "_guarded", False), f"{name} runs without the schema check"
    assert set(NO_DATABASE_WITH) <= {name for name, _ in commands(fresh)}


@pytest.mark.parametrize("args", [
    ["questionnaires", "list"],
    ["questionnaires", "load", "questionnaires/sipas-service.yaml"],
    ["questionnaires", "export-xlsform", "sipas-service", "--out", "x.xlsx"],
    ["users", "create", "a@b.vn", "--name", "A", "--role", "analyst", "--all-units", "--password", "x" * 20],
    ["analysis", "report", "--wave", "W", "--out", "out"],
    ["analysis", "export", "--wave", "W", "--out", "out"],
])
def test_commands_on_an_empty_database_say_run_setup(fresh, args):
    """On an empty database a command exits non-zero with one line naming the set-up command."""
    result = fresh.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert SETUP in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_file_commands_on_an_empty_database(fresh, tmp_path):
    """Commands that need a file argument are checked too, and ones that only read files still run."""
    csv = tmp_path / "units.csv"
    csv.write_text("code,name,name_en,kind,parent_code,valid_from,valid_to,predecessors\n", encoding="utf-8")
    runner = fresh.test_cli_runner()
    for args in (["units", "import", str(csv)], ["groups", "import", str(csv)],
                 ["responses", "import-odk", str(csv), "--wave", "W", "--group", "G", "--unit", "U"]):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and SETUP in result.output, (args, result.output)
    checked = runner.invoke(args=["questionnaires", "validate", "questionnaires/sipas-service.yaml"])
    assert checked.exit_code == 0, checked.output


def test_command_on_an_old_revision_says_upgrade(fresh):
    """A database behind the code's migrations names the upgrade command and both revisions."""
    migrate.upgrade(fresh, "0001")
    result = fresh.test_cli_runner().invoke(args=["questionnaires", "list"])
    assert result.exit_code != 0
    assert UPGRADE in result.output and "0001" in result.output


def test_pages_before_setup_answer_503_then_work_after(fresh):
    """A page before set-up says what to run (503); after setup the same app serves it."""
    client = fresh.test_client()
    page = client.get("/staff/login")
    assert page.status_code == 503
    assert SETUP in page.text and "Hệ thống chưa sẵn sàng" in page.text
    assert client.get("/r/unknown-token").status_code == 503
    assert fresh.test_cli_runner().invoke(args=["setup", "--no-demo"]).exit_code == 0
    assert client.get("/staff/login").status_code == 200


def test_page_on_an_old_revision_says_upgrade(fresh):
    """A page on a database behind the code names the upgrade command."""
    migrate.upgrade(fresh, "0001")
    page = fresh.test_client().get("/staff/login")
    assert page.status_code == 503 and UPGRADE in page.text
