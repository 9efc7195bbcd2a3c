"""`twirl deploy [DIR]` through the real binary, into a running twirl: what it creates (service,
environment, functions, assets, build with package.json's dependencies, .env's variables,
deployment) is what `twilio-run deploy` creates from the same project; it prints its progress and
the deployed URLs, which serve the functions; deploying again goes to the same service; a service
of that name it did not create, the live project's own service, a build that fails and a twirl
that is not there are refused clearly, changing nothing."""

import json
import re
import shutil
import sys

import pytest
import requests

from conftest import REPO_ROOT, run_twirl, running_project_server, running_twirl, twirl_binary
from support import assert_status

RUNTIME_PROJECT = REPO_ROOT / "fixtures" / "runtime-project"
DEPLOY_TIMEOUT = 240  # a first deploy on a machine installs its dependency set with npm
URL_RE = re.compile(r"^    (public|protected|private) +(\S+)", re.M)


def describe(result):
    return f"exit {result.returncode}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"


def deploy(server, project, *args):
    """`twirl deploy PROJECT --url URL ARGS…` to completion."""
    return run_twirl("deploy", project, "--url", server.url, *args, cwd=project, timeout=DEPLOY_TIMEOUT)


def copy_project(tmp_path, name="project"):
    project = tmp_path / name
    shutil.copytree(RUNTIME_PROJECT, project)
    return project


def services(server):
    return {s["unique_name"]: s for s in server.api.list_all("/v1/Services")}


def deployed(server, service_sid, environment_sid):
    """What an environment serves, as comparable data: its build's versions and dependencies and
    the environment's variables and naming."""
    base = f"/v1/Services/{service_sid}"
    environment = server.api.fetch(f"{base}/Environments/{environment_sid}")
    build = server.api.fetch(f"{base}/Builds/{environment['build_sid']}")
    functions = {f["sid"]: f["friendly_name"] for f in server.api.list_all(f"{base}/Functions")}
    return {
        "environment": (environment["unique_name"], environment["domain_suffix"]),
        "functions": sorted((v["path"], v["visibility"], functions[v["function_sid"]])
                            for v in build["function_versions"]),
        "assets": sorted((v["path"], v["visibility"]) for v in build["asset_versions"]),
        "dependencies": sorted((d["name"], d["version"]) for d in build["dependencies"]),
        "variables": sorted((v["key"], v["value"]) for v in
                            server.api.list_all(f"{base}/Environments/{environment_sid}/Variables")),
    }


def environment_named(server, service_sid, unique_name):
    environments = [e for e in server.api.list_all(f"/v1/Services/{service_sid}/Environments")
                    if e["unique_name"] == unique_name]
    assert len(environments) == 1, environments
    return environments[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A twirl with no live project and random credentials, which `twirl deploy` asks for."""
    yield from running_twirl(tmp_path_factory.mktemp("deploy-target"))


# --- what a deploy creates --------------------------------------------------------------------------

def test_deploy_creates_what_twilio_run_deploy_creates(server, tmp_path, twilio_run):
    ours = copy_project(tmp_path, "ours")
    result = deploy(server, ours, "--service-name", "by-twirl")
    assert result.returncode == 0, describe(result)

    # twilio-run deploys the same project into the same twirl, as `twirl exec --url` runs it.
    theirs = copy_project(tmp_path, "theirs")
    by_twilio_run = run_twirl("exec", "--url", server.url, "--", twilio_run, "deploy", "--service-name",
                              "by-twilio-run", cwd=theirs, timeout=DEPLOY_TIMEOUT)
    assert by_twilio_run.returncode == 0, describe(by_twilio_run)

    found = services(server)
    for name in ("by-twirl", "by-twilio-run"):
        assert (found[name]["friendly_name"], found[name]["include_credentials"]) == (name, True)
    mine = deployed(server, found["by-twirl"]["sid"], environment_named(server, found["by-twirl"]["sid"],
                                                                        "dev-environment")["sid"])
    reference = deployed(server, found["by-twilio-run"]["sid"],
                         environment_named(server, found["by-twilio-run"]["sid"], "dev-environment")["sid"])
    assert mine == reference
    assert ("/text", "public", "/text") in mine["functions"] and ("/lib/util", "private", "/lib/util") in mine["functions"]
    assert ("/secret.json", "private") in mine["assets"]
    # The project's .env, without the account, and package.json's dependencies.
    assert mine["environment"] == ("dev-environment", "dev")
    assert ("GREETING", "hello") in mine["variables"]
    assert not [key for key, _ in mine["variables"] if key in ("ACCOUNT_SID", "AUTH_TOKEN")]
    package = json.loads((RUNTIME_PROJECT / "package.json").read_text())
    assert {name for name, _ in mine["dependencies"]} >= set(package.get("dependencies", {}))


def test_progress_and_urls_are_printed_and_the_urls_serve(server, tmp_path):
    project = copy_project(tmp_path)
    result = deploy(server, project, "--service-name", "printed")
    assert result.returncode == 0, describe(result)
    out = result.stdout
    service = services(server)["printed"]
    environment = environment_named(server, service["sid"], "dev-environment")
    for line in (rf"^  service      printed {service['sid']} \(created\)$",
                 rf"^  environment  dev-environment {environment['domain_name']} \(created\)$",
                 r"^  functions    \d+ uploaded$", r"^  assets       \d+ uploaded$",
                 rf"^  build        {environment['build_sid']} completed in [\d.]+ s \(node\d+\)$",
                 r"^  variables    .*GREETING", r"^  deployment   ZD[0-9a-f]{32}$"):
        assert re.search(line, out, re.M), f"{line!r} not in\n{out}"
    site = f"{server.url}/{environment['domain_name']}"
    functions_part, assets_part = out.split("\n  Assets\n")
    functions = {place: visibility for visibility, place in URL_RE.findall(functions_part)}
    assets = {place: visibility for visibility, place in URL_RE.findall(assets_part)}
    assert functions[f"{site}/text"] == "public"
    assert functions[f"{site}/protected"] == "protected"
    assert functions["/lib/util"] == "private"
    assert "/lib/util (private: Runtime.getFunctions() only)" in functions_part
    assert requests.get(f"{site}/text", timeout=30).text == "hello from text"
    assert_status(requests.get(f"{site}/protected", timeout=30), 400)
    # Every asset the project has is listed, and each public one answers at its URL.
    files = [p for p in (project / "assets").rglob("*") if p.is_file()]
    assert len(assets) == len(files)
    for place, visibility in assets.items():
        if visibility == "public":
            assert_status(requests.get(place, timeout=30), 200)


def test_environment_suffix_and_production(server, tmp_path):
    project = copy_project(tmp_path)
    assert deploy(server, project, "-n", "suffixes", "--environment", "stage").returncode == 0
    assert deploy(server, project, "-n", "suffixes", "--production").returncode == 0
    service = services(server)["suffixes"]
    stage = environment_named(server, service["sid"], "stage-environment")
    production = environment_named(server, service["sid"], "production")
    assert stage["domain_name"] == f"{service['domain_base']}-stage.twil.io"
    assert production["domain_name"] == f"{service['domain_base']}.twil.io"
    assert production["domain_suffix"] in (None, "")
    assert requests.get(f"{server.url}/{production['domain_name']}/text", timeout=30).text == "hello from text"


def test_deploying_again_updates_the_same_service(server, tmp_path):
    project = copy_project(tmp_path)
    assert deploy(server, project, "-n", "again").returncode == 0
    (project / "functions" / "text.js").write_text(
        "exports.handler = (context, event, callback) => callback(null, 'second deploy');\n")
    (project / ".env").write_text("GREETING=changed\n")
    again = deploy(server, project, "-n", "again")
    assert again.returncode == 0, describe(again)
    assert not re.search(r"^  (service|environment) .*\(created\)$", again.stdout, re.M), again.stdout
    service = services(server)["again"]
    environment = environment_named(server, service["sid"], "dev-environment")
    assert requests.get(f"{server.url}/{environment['domain_name']}/text", timeout=30).text == "second deploy"
    assert ("GREETING", "changed") in deployed(server, service["sid"], environment["sid"])["variables"]
    deployments = server.api.list_all(f"/v1/Services/{service['sid']}/Environments/{environment['sid']}/Deployments")
    assert len(deployments) == 2


# --- refusals ---------------------------------------------------------------------------------------

def test_a_service_of_that_name_from_elsewhere_needs_override(server, tmp_path):
    server.api.create("/v1/Services", {"UniqueName": "taken", "FriendlyName": "taken"})
    project = copy_project(tmp_path)
    refused = deploy(server, project, "-n", "taken")
    assert refused.returncode == 1, describe(refused)
    sid = services(server)["taken"]["sid"]
    assert (f'twirl: Service with name "taken" already exists with SID "{sid}". Deploy into it with '
            "--override-existing-project") in refused.stderr, describe(refused)
    assert server.api.list_all(f"/v1/Services/{sid}/Environments") == []

    allowed = deploy(server, project, "-n", "taken", "--override-existing-project")
    assert allowed.returncode == 0, describe(allowed)
    assert environment_named(server, sid, "dev-environment")["build_sid"]


def test_the_live_projects_own_service_is_refused(tmp_path):
    project = copy_project(tmp_path)
    (tmp_path / "live").mkdir()
    running = running_project_server(tmp_path / "live", project)
    live = next(running)
    try:
        live_service = json.loads(requests.get(f"{live.url}/_twirl/live", timeout=30).text)
        before = live.api.list_all(f"/v1/Services/{live_service['service_sid']}/Builds")
        result = deploy(live, project)
        assert result.returncode == 1, describe(result)
        assert f'twirl: "runtime-project" ({live_service["service_sid"]}) is the live project\'s own service' \
            in result.stderr, describe(result)
        assert "--service-name" in result.stderr
        names = [e["unique_name"] for e in
                 live.api.list_all(f"/v1/Services/{live_service['service_sid']}/Environments")]
        assert names == ["live-environment"]
        assert live.api.list_all(f"/v1/Services/{live_service['service_sid']}/Builds") == before
    finally:
        running.close()


def test_a_build_that_fails_is_reported_with_npms_reason_and_not_deployed(server, tmp_path):
    project = copy_project(tmp_path)
    package = json.loads((project / "package.json").read_text())
    package.setdefault("dependencies", {})["twirl-no-such-package-for-tests"] = "1.0.0"
    (project / "package.json").write_text(json.dumps(package))
    result = deploy(server, project, "-n", "fails-to-build")
    assert result.returncode == 1, describe(result)
    assert re.search(r"^twirl: the build ZB[0-9a-f]{32} failed: .*npm", result.stderr, re.M), describe(result)
    assert "twirl-no-such-package-for-tests" in result.stderr
    service = services(server)["fails-to-build"]
    assert environment_named(server, service["sid"], "dev-environment")["build_sid"] is None


def test_a_project_with_problems_is_refused_before_anything_is_sent(server, tmp_path):
    project = copy_project(tmp_path)
    (project / "functions" / "bad name?.js").write_text("exports.handler = () => {};\n")
    result = deploy(server, project, "-n", "has-problems")
    assert result.returncode == 1, describe(result)
    assert "cannot be deployed" in result.stderr and "bad name?.js" in result.stderr, describe(result)
    assert "has-problems" not in services(server)


def test_no_twirl_there(tmp_path):
    project = copy_project(tmp_path)
    result = run_twirl("deploy", project, "--url", "http://127.0.0.1:9", cwd=project, timeout=60)
    assert result.returncode == 1, describe(result)
    assert result.stderr.startswith("twirl: cannot reach twirl at http://127.0.0.1:9"), describe(result)


def test_not_a_project(server, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_twirl("deploy", empty, "--url", server.url, timeout=60)
    assert result.returncode == 1
    assert "is not a Serverless Toolkit project" in result.stderr, describe(result)


def test_deploy_runs_under_twirl_exec_with_its_variables(tmp_path):
    """Inside `twirl exec`, TWIRL_URL and the account are in the environment: `twirl deploy` needs no
    options, and the deployed function answers the script that follows."""
    project = copy_project(tmp_path)
    script = ("import os, subprocess, sys, urllib.request\n"
              "subprocess.run([sys.argv[1], 'deploy', '-n', 'in-exec'], check=True)\n"
              "print(urllib.request.urlopen(os.environ['TWIRL_URL'] + '/_twirl/health').read().decode())\n")
    (tmp_path / "script.py").write_text(script)
    result = run_twirl("exec", "--", sys.executable, tmp_path / "script.py", twirl_binary(), cwd=project,
                       timeout=DEPLOY_TIMEOUT)
    assert result.returncode == 0, describe(result)
    assert re.search(r"^Deployed in-exec to dev-environment at http://127\.0\.0\.1:\d+/in-exec-\d{4}-dev\.twil\.io/$",
                     result.stdout, re.M), describe(result)
    assert '{"status":"ok"}' in result.stdout
