"""The live project's history, through the real binary: its environment serves the files as they
are saved, so the API refuses to deploy any other build there (the console then cannot show a
build as active that is not served); each save replaces the previous live build and its deployment,
except builds another environment serves or has deployed, which stay (promotion, roll back)."""

import json

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from conftest import running_project_server
from support import assert_twilio_error, eventually

SAVES = 5


def write_function(project, text):
    (project / "functions" / "hello.js").write_text(
        f"exports.handler = (context, event, callback) => callback(null, {json.dumps(text)});\n")


def text_at(server, path):
    return requests.get(server.url + path, timeout=30).text


def save(server, project, text):
    """Writes a new /hello and waits until the root serves it; returns the live build then."""
    write_function(project, text)
    assert eventually(lambda: text_at(server, "/hello"), lambda t: t == text, timeout=10) == text
    return live(server)["build_sid"]


def live(server):
    return requests.get(f"{server.url}/_twirl/live", timeout=30).json()


@pytest.fixture
def server(tmp_path):
    project = tmp_path / "project"
    (project / "functions").mkdir(parents=True)
    (project / "package.json").write_text('{"name": "history-project", "dependencies": {}}\n')
    write_function(project, "first")
    workdir = tmp_path / "twirl"
    workdir.mkdir()
    running = running_project_server(workdir, project)
    started = next(running)
    try:
        started.project = project
        eventually(lambda: text_at(started, "/hello"), lambda t: t == "first", timeout=10)
        yield started
    finally:
        running.close()


def builds_of(server, service_sid):
    return [b["sid"] for b in server.api.list_all(f"/v1/Services/{service_sid}/Builds")]


def deployments_of(server, service_sid, environment_sid):
    return server.api.list_all(f"/v1/Services/{service_sid}/Environments/{environment_sid}/Deployments")


def test_another_build_cannot_be_deployed_to_the_live_environment(server):
    state = live(server)
    service, environment = state["service_sid"], state["environment_sid"]
    stage = server.api.create(f"/v1/Services/{service}/Environments",
                              {"UniqueName": "stage-environment", "DomainSuffix": "stage"})
    kept = state["build_sid"]
    server.api.create(f"/v1/Services/{service}/Environments/{stage['sid']}/Deployments", {"BuildSid": kept})
    save(server, server.project, "second")

    # The raw API: a Twilio error, nothing changed.
    response = server.api.post(f"/v1/Services/{service}/Environments/{environment}/Deployments",
                               data={"BuildSid": kept})
    body = assert_twilio_error(response, 409, 20409)
    assert "live project" in body["message"] and str(server.project) in body["message"], body
    assert live(server)["build_sid"] != kept
    assert len(deployments_of(server, service, environment)) == 1
    assert text_at(server, "/hello") == "second"

    # twilio-python sees the same refusal.
    client = server.client()
    with pytest.raises(TwilioRestException) as refused:
        client.serverless.v1.services(service).environments(environment).deployments.create(build_sid=kept)
    assert (refused.value.status, refused.value.code) == (409, 20409)


def test_saves_do_not_pile_up(server):
    state = live(server)
    service, environment = state["service_sid"], state["environment_sid"]
    for n in range(SAVES):
        current = save(server, server.project, f"save {n}")
    assert builds_of(server, service) == [current]
    deployments = deployments_of(server, service, environment)
    assert [d["build_sid"] for d in deployments] == [current]


def test_builds_other_environments_have_deployed_are_kept(server):
    state = live(server)
    service = state["service_sid"]
    stage = server.api.create(f"/v1/Services/{service}/Environments",
                              {"UniqueName": "stage-environment", "DomainSuffix": "stage"})
    stage_deployments = f"/v1/Services/{service}/Environments/{stage['sid']}/Deployments"
    promoted = state["build_sid"]
    server.api.create(stage_deployments, {"BuildSid": promoted})
    newer = save(server, server.project, "newer")
    server.api.create(stage_deployments, {"BuildSid": newer})  # stage moves on: `promoted` is history
    for n in range(SAVES):
        latest = save(server, server.project, f"save {n}")
    assert sorted(builds_of(server, service)) == sorted([promoted, newer, latest])

    # Stage's roll back to the build it served first still works.
    server.api.create(stage_deployments, {"BuildSid": promoted})
    stage_site = f"/{stage['domain_name']}/hello"
    assert eventually(lambda: text_at(server, stage_site), lambda t: t == "first", timeout=30) == "first"
    assert text_at(server, "/hello") == f"save {SAVES - 1}"
