"""Analyst pages use the framework versions the wave is pinned to, and say when it is not pinned."""

import re

from survey import demo
from survey.definitions import bundle
from survey.instruments import frameworks as framework_service
from survey.instruments import service
from tests.instruments.test_framework_versions import edited_copy

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def seed_and_log_in(app, session, client, with_frameworks: bool):
    """Publish the bundled questionnaires (and frameworks), seed the demo, log its coordinator in."""
    dirs = app.config["QUESTIONNAIRE_DIRS"]
    good, frameworks, _ = bundle.validate_with_frameworks(dirs, dirs)
    for definition in good:
        service.publish(session, definition)
    for framework in frameworks.values() if with_frameworks else ():
        framework_service.publish(session, framework)
    demo.seed(session, app.config["TOKEN_KEY"])
    session.commit()
    token = CSRF.search(client.get("/staff/login").text).group(1)
    client.post("/staff/login", data={"csrf_token": token, "email": demo.COORDINATOR_EMAIL,
                                      "password": demo.COORDINATOR_PASSWORD})


def verified(document: dict) -> None:
    """The edit: every number of the PAR framework declared verified."""
    def walk(node):
        node["status"] = "verified"
        if isinstance(node.get("scoring_rule"), dict) and "status" in node["scoring_rule"]:
            node["scoring_rule"]["status"] = "verified"
        for child in node.get("children", ()):
            walk(child)

    document["status"] = "verified"
    for node in document["nodes"]:
        walk(node)


def test_provisional_notice_follows_the_pinned_version(app, session, client, runner, tmp_path):
    """A newer, fully verified PAR framework does not lift the past wave's provisional notice."""
    seed_and_log_in(app, session, client, with_frameworks=True)
    folder = edited_copy(tmp_path, "par-province-2024", "2024.9", verified)
    loaded = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert loaded.exit_code == 0, loaded.output
    assert framework_service.latest(session, "par-province-2024").definition["status"] == "verified"
    page = client.get(f"/staff/analysis/{demo.WAVE_CODE}")
    assert "trọng số trong par-province-2024, sipas-2023 chưa" in page.text


def test_running_an_unpinned_wave_says_what_it_used(app, session, client):
    """A wave assigned before its frameworks were stored: the report runs and names them."""
    seed_and_log_in(app, session, client, with_frameworks=False)
    token = CSRF.search(client.get(f"/staff/analysis/{demo.WAVE_CODE}").text).group(1)
    done = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run", data={"csrf_token": token},
                       follow_redirects=True)
    assert done.status_code == 200
    assert ("chưa gắn với một phiên bản đã công bố của khung chỉ số par-province-2024, sipas-2023"
            in done.text)


def test_running_a_pinned_wave_says_nothing_about_versions(app, session, client):
    """A pinned wave's report carries no fallback notice."""
    seed_and_log_in(app, session, client, with_frameworks=True)
    token = CSRF.search(client.get(f"/staff/analysis/{demo.WAVE_CODE}").text).group(1)
    done = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run", data={"csrf_token": token},
                       follow_redirects=True)
    assert done.status_code == 200 and "Đã tính xong báo cáo." in done.text
    assert "chưa gắn với một phiên bản" not in done.text
