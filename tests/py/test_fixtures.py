"""Fixtures through the real binary: `twirl serve --fixture fixtures/fixture-suite.json` declares two
services (inline files and a project directory deployed declaratively, variables, a pinned domain
base and pinned SIDs); the SIDs it gets are derived from the fixture's bytes, so they are
hard-coded below and must be the same on every start. Invalid fixtures stop start-up (or answer
400 at run time) naming the exact field, and store nothing. Reset, the clock, export and the
control subcommands are checked against the same fixture.

The expected SIDs depend on every byte of fixtures/fixture-suite.json: editing it means updating
them."""

import copy
import json

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import REPO_ROOT, FixtureServer, running_fixture_server, run_twirl
from support import assert_status, assert_twilio_error, deploy_project, eventually, new_sid

FIXTURE = REPO_ROOT / "fixtures" / "fixture-suite.json"
FIXTURE_PROJECT = REPO_ROOT / "fixtures" / "fixture-project"
ACCOUNT_SID = "AC5e7f1a2b3c4d5e6f708192a3b4c5d6e7"
AUTH_TOKEN = "f1xtur3f1xtur3f1xtur3f1xtur3f1x"
API_KEY_SID = "SK5e7f1a2b3c4d5e6f708192a3b4c5d6e7"
API_KEY_SECRET = "fixture-api-key-secret"
DAY = 86_400
LOG_WAIT = 5.0

# What fixture-suite.json loads as, SID for SID: unique names → SIDs, resources → [ZH, ZN…].
EXPECTED_TREE = {
    "thanos": {
        "sid": "ZSb199f26d8c6d2b8c841e9d7dca8e548a",
        "domain_base": "thanos-1234",
        "functions": {
            "/hello": ["ZH7ed191e119d7565a290eb9795c52db37", "ZN86e1737be46b0868049f3f773c5e1068"],
            "/whoami": ["ZHb3af821cfd83a063f9df486fc35ff32e", "ZN320f2e57c89e63ace17f6fe6d38b019a"],
        },
        "assets": {
            "/notes.txt": ["ZH0f3d90edfa5ffe2dfa8d1677150f8e96", "ZNaff870bfa2d9dfd69d2b257a600c4047"],
            "/pixel.bin": ["ZHfaa34e4ae25320f9cd2b23d2e12cc7ec", "ZN21b2ca319bb1b1b59e3696e1bf7492bc"],
            "/hidden.txt": ["ZH4e4ebc7e089a57d7f2641bd38c83e0b9", "ZN7d4be9fd5d9424b94025d5dabe576d4b"],
        },
        "builds": ["ZB6e6bff2e4fa02ca26272e89a4073646b"],
        "environments": {
            "dev-environment": {
                "sid": "ZE96da7e88ebd5bf48c39c26aeeadccc83",
                "domain_name": "thanos-1234-dev.twil.io",
                "build_sid": "ZB6e6bff2e4fa02ca26272e89a4073646b",
                "variables": {"GREETING": "ZVa88c5d2f1b6a65cb39b5479676643090"},
                "deployments": ["ZD0e3f891dffd421c9c3183bd96fdb9e90"],
            },
            "production": {
                "sid": "ZE546300aa3d7c169a82ac7d4480b9d49a",
                "domain_name": "thanos-1234.twil.io",
                "build_sid": None,
                "variables": {"GREETING": "ZV0f0c28966835cf90f4a35cfd49b894fe"},
                "deployments": [],
            },
        },
    },
    "from-project": {
        "sid": "ZS00000000000000000000000000000001",
        "domain_base": "from-project-1687",
        "functions": {
            "/greet": ["ZH98d6d7d1905dffce74095ac3df827052", "ZNb047d8698f4ef82d64825bbd4892c105"],
            "/log": ["ZHc7b1dbb88e9248733dd9c31bfa245de0", "ZNe6dc049132250ee7102e2958d182f364"],
        },
        "assets": {
            "/style.css": ["ZH649c396c147c1f71a1d5f56f95ccb0e8", "ZN14caa3e3cd99647835bb4c5bd1535d49"],
        },
        "builds": ["ZBccd84aca6a5870a327a920aa3ada0992"],
        "environments": {
            "stage-environment": {
                "sid": "ZE00000000000000000000000000000002",
                "domain_name": "from-project-1687-stage.twil.io",
                "build_sid": "ZBccd84aca6a5870a327a920aa3ada0992",
                "variables": {"GREETING": "ZV603c2fa86c8b2a6357f816917c5980ab"},
                "deployments": ["ZD62caa8f49855e62c72ec61e6237987be"],
            },
        },
    },
}
THANOS = EXPECTED_TREE["thanos"]
FROM_PROJECT = EXPECTED_TREE["from-project"]
DEV_SITE = "thanos-1234-dev.twil.io"
STAGE_SITE = "from-project-1687-stage.twil.io"


# --- helpers ----------------------------------------------------------------------------------------

def fixture_server(workdir, *fixtures, extra_args=()):
    """A started server on `fixtures` (default: fixture-suite.json), authenticated as its account."""
    server = FixtureServer(workdir, fixtures or [FIXTURE], *extra_args).start()
    return server.authenticate(ACCOUNT_SID, AUTH_TOKEN)


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """The shared server on fixture-suite.json, for tests that leave its state as they found it."""
    server = fixture_server(tmp_path_factory.mktemp("suite"))
    yield server
    server.stop()


@pytest.fixture
def own_suite(tmp_path):
    """A server on fixture-suite.json of the test's own, for tests that change state."""
    server = fixture_server(tmp_path)
    yield server
    server.stop()


def sid_tree(api):
    """The state as EXPECTED_TREE spells it: every SID, domain and active build, by name."""
    tree = {}
    for service in api.list_all("/v1/Services"):
        path = f"/v1/Services/{service['sid']}"
        entry = tree[service["unique_name"]] = {"sid": service["sid"], "domain_base": service["domain_base"]}
        for kind in ("Functions", "Assets"):
            entry[kind.lower()] = {
                resource["friendly_name"]: [resource["sid"]] + [
                    version["sid"] for version in api.list_all(f"{path}/{kind}/{resource['sid']}/Versions")]
                for resource in api.list_all(f"{path}/{kind}")
            }
        entry["builds"] = [build["sid"] for build in api.list_all(f"{path}/Builds")]
        entry["environments"] = {}
        for environment in api.list_all(f"{path}/Environments"):
            env_path = f"{path}/Environments/{environment['sid']}"
            entry["environments"][environment["unique_name"]] = {
                "sid": environment["sid"],
                "domain_name": environment["domain_name"],
                "build_sid": environment["build_sid"],
                "variables": {v["key"]: v["sid"] for v in api.list_all(f"{env_path}/Variables")},
                "deployments": [d["sid"] for d in api.list_all(f"{env_path}/Deployments")],
            }
    return tree


def site_get(server, domain, path, **kwargs):
    kwargs.setdefault("timeout", 60)  # a first request may install the build's dependencies
    return requests.get(f"{server.url}/{domain}{path}", **kwargs)


def load_fixture_json():
    return json.loads(FIXTURE.read_text())


def renamed_for_runtime(fixture):
    """The suite fixture made loadable beside itself: no credentials, other names and no pinned
    SIDs or domain base that the loaded copy already holds, an absolute project path."""
    fixture = copy.deepcopy(fixture)
    fixture.pop("credentials", None)
    fixture.pop("api_keys", None)
    for service in fixture["services"]:
        service["unique_name"] += "-runtime"
        service.pop("sid", None)
        service.pop("domain_base", None)
        for environment in service["environments"]:
            environment.pop("sid", None)
            deploy = environment.get("deploy") or {}
            if "project" in deploy:
                deploy["project"] = str(FIXTURE_PROJECT)
    return fixture


def absolute_project(fixture):
    for service in fixture["services"]:
        for environment in service["environments"]:
            deploy = environment.get("deploy") or {}
            if "project" in deploy:
                deploy["project"] = str(FIXTURE_PROJECT)
    return fixture


# Each invalid fixture: a change to the suite fixture, the field the error must name, and a piece
# of the message after it.
def _set(path, value):
    def change(fixture):
        target = fixture
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _delete(path):
    def change(fixture):
        target = fixture
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


DEV = ["services", 0, "environments", 0]
INVALID = {
    "bad_domain_suffix": (_set(DEV + ["domain_suffix"], "dev_1"),
                          "services[0].environments[0].domain_suffix", "Invalid DomainSuffix"),
    "bad_function_path": (_set(DEV + ["deploy", "functions", 0, "path"], "hello"),
                          "services[0].environments[0].deploy.functions[0].path", "Invalid Path"),
    "dot_segment_asset_path": (_set(DEV + ["deploy", "assets", 1, "path"], "/a/../pixel.bin"),
                               "services[0].environments[0].deploy.assets[1].path", "Invalid Path"),
    "bad_visibility": (_set(DEV + ["deploy", "assets", 2, "visibility"], "secret"),
                       "services[0].environments[0].deploy.assets[2].visibility", "Invalid Visibility"),
    "unknown_field": (_set(["services", 1, "environments", 0, "colour"], "blue"),
                      "services[1].environments[0].colour", "unknown field `colour`"),
    "unknown_top_level_field": (_set(["servics"], []), "servics", "unknown field `servics`"),
    "wrong_type": (_set(["services", 0, "include_credentials"], "yes"),
                   "services[0].include_credentials", "invalid type: string \"yes\", expected a boolean"),
    "missing_required_field": (_delete(["services", 1, "unique_name"]),
                               "services[1]", "missing field `unique_name`"),
    "missing_content": (_delete(DEV + ["deploy", "functions", 1, "content"]),
                        "services[0].environments[0].deploy.functions[1]",
                        "give exactly one of content, content_base64 and content_sha256"),
    "two_contents": (_set(DEV + ["deploy", "assets", 0, "content_base64"], "aGk="),
                     "services[0].environments[0].deploy.assets[0]",
                     "give exactly one of content, content_base64 and content_sha256"),
    "bad_base64": (_set(DEV + ["deploy", "assets", 1, "content_base64"], "not base64!"),
                   "services[0].environments[0].deploy.assets[1].content_base64", ""),
    # 226 two-byte characters: 452 bytes, so the limit is on bytes, not characters.
    "variable_too_long": (_set(["services", 0, "environments", 1, "variables", "GREETING"], "é" * 226),
                          "services[0].environments[1].variables.GREETING.value",
                          "must be at most 450 bytes long"),
    "pinned_sid_wrong_prefix": (_set(["services", 1, "environments", 0, "sid"],
                                     "ZS00000000000000000000000000000002"),
                                "services[1].environments[0].sid", "is not a ZE SID"),
    "pinned_sid_too_short": (_set(["services", 1, "sid"], "ZS0001"), "services[1].sid", "is not a ZS SID"),
    "bad_domain_base": (_set(["services", 0, "domain_base"], "thanos_1234"),
                        "services[0].domain_base", "Invalid domain_base"),
    "bad_unique_name": (_set(["services", 1, "unique_name"], "from project"),
                        "services[1].unique_name", "Invalid UniqueName"),
    "missing_project": (_set(["services", 1, "environments", 0, "deploy", "project"], "no-such-project"),
                        "services[1].environments[0].deploy.project", "is not a directory"),
    "bad_date": (_set(["services", 0, "date_created"], "yesterday"),
                 "services[0].date_created", "is not a date"),
}


def invalid_fixture(kind, runtime=False):
    """The suite fixture with one change (project paths made absolute, or renamed for loading at
    run time beside the suite); returns it with the field and message expected."""
    change, field, message = INVALID[kind]
    fixture = load_fixture_json()
    fixture = renamed_for_runtime(fixture) if runtime else absolute_project(fixture)
    change(fixture)
    return fixture, field, message


# --- a valid fixture --------------------------------------------------------------------------------

def test_fixture_loads_with_the_expected_sids(suite):
    assert sid_tree(suite.api) == EXPECTED_TREE


def test_same_sids_on_a_second_start_from_twirl_fixtures(tmp_path, monkeypatch):
    """A second, separate start (fixture given through TWIRL_FIXTURES) gets the very same SIDs."""
    monkeypatch.setenv("TWIRL_FIXTURES", str(FIXTURE))
    server = FixtureServer(tmp_path, []).start().authenticate(ACCOUNT_SID, AUTH_TOKEN)
    try:
        assert sid_tree(server.api) == EXPECTED_TREE
    finally:
        server.stop()


def test_fixture_credentials_and_api_key_authenticate(suite):
    banner = eventually(suite.stdout_path.read_text, lambda text: API_KEY_SID in text)
    assert f"Account SID  {ACCOUNT_SID} (from the fixture)" in banner, banner
    assert API_KEY_SID in banner, banner
    url = f"{suite.url}/v1/Services"
    assert_status(requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=30), 200)
    assert_status(requests.get(url, auth=(API_KEY_SID, API_KEY_SECRET), timeout=30), 200)
    assert_twilio_error(requests.get(url, auth=(ACCOUNT_SID, "0" * 32), timeout=30), 401)
    assert_twilio_error(requests.get(url, auth=(API_KEY_SID, "wrong"), timeout=30), 401)
    services = suite.api.fetch("/v1/Services")["services"]
    assert {service["account_sid"] for service in services} == {ACCOUNT_SID}


def test_flags_win_over_fixture_credentials(tmp_path):
    account_sid, auth_token = new_sid("AC"), "f" * 32
    for server in running_fixture_server(tmp_path, [FIXTURE], account_sid=account_sid, auth_token=auth_token):
        url = f"{server.url}/v1/Services"
        assert_twilio_error(requests.get(url, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=30), 401)
        services = server.api.fetch("/v1/Services")["services"]
        assert {service["account_sid"] for service in services} == {account_sid}
        # The SIDs come from the fixture's bytes only.
        assert [service["sid"] for service in services] == [THANOS["sid"], FROM_PROJECT["sid"]]


def test_fixture_account_sid_in_upper_case(tmp_path):
    """SIDs are accepted in either case (and normalized to lower case) everywhere else."""
    fixture = absolute_project(load_fixture_json())
    fixture["credentials"]["account_sid"] = ACCOUNT_SID.upper()
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(fixture))
    server = FixtureServer(tmp_path, [path]).start()
    try:
        assert server.account_sid == ACCOUNT_SID
        server.authenticate(ACCOUNT_SID, AUTH_TOKEN)
        assert [s["unique_name"] for s in server.api.list_all("/v1/Services")] == ["thanos", "from-project"]
    finally:
        server.stop()


def test_services_and_environments_as_declared(suite):
    thanos = suite.api.fetch(f"/v1/Services/{THANOS['sid']}")
    assert (thanos["unique_name"], thanos["friendly_name"], thanos["domain_base"]) == \
        ("thanos", "Thanos", "thanos-1234")
    assert thanos["include_credentials"] is True and thanos["ui_editable"] is False
    from_project = suite.api.fetch(f"/v1/Services/{FROM_PROJECT['sid']}")
    assert from_project["friendly_name"] == "from-project"
    env_path = f"/v1/Services/{THANOS['sid']}/Environments"
    dev = suite.api.fetch(f"{env_path}/{THANOS['environments']['dev-environment']['sid']}")
    assert (dev["domain_suffix"], dev["domain_name"]) == ("dev", DEV_SITE)
    production = suite.api.fetch(f"{env_path}/{THANOS['environments']['production']['sid']}")
    assert production["domain_suffix"] in (None, "")
    assert production["domain_name"] == "thanos-1234.twil.io"
    variables = suite.api.list_all(f"{env_path}/{production['sid']}/Variables")
    assert [(v["key"], v["value"]) for v in variables] == [("GREETING", "hello from production")]


def test_declarative_builds_are_completed_with_every_file(suite):
    for service in (THANOS, FROM_PROJECT):
        path = f"/v1/Services/{service['sid']}"
        (build_sid,) = service["builds"]
        build = suite.api.fetch(f"{path}/Builds/{build_sid}")
        assert build["status"] == "completed", build
        assert suite.api.fetch(f"{path}/Builds/{build_sid}/Status")["status"] == "completed"
        assert sorted(v["sid"] for v in build["function_versions"]) == \
            sorted(sids[1] for sids in service["functions"].values())
        assert sorted(v["sid"] for v in build["asset_versions"]) == \
            sorted(sids[1] for sids in service["assets"].values())
        names = {d["name"]: d["version"] for d in build["dependencies"]}
        assert names == {"twilio": "^5.0.0", "@twilio/runtime-handler": "2.1.0"}, build["dependencies"]
    visibilities = {v["path"]: v["visibility"].lower()
                    for v in suite.api.fetch(f"/v1/Services/{THANOS['sid']}/Builds/{THANOS['builds'][0]}")
                    ["asset_versions"]}
    assert visibilities == {"/notes.txt": "public", "/pixel.bin": "public", "/hidden.txt": "private"}
    content = suite.api.get(f"/v1/Services/{THANOS['sid']}/Functions/{THANOS['functions']['/hello'][0]}"
                            f"/Versions/{THANOS['functions']['/hello'][1]}/Content")
    assert_status(content, 200)
    assert content.json()["content"] == \
        "exports.handler = (context, event, callback) => callback(null, context.GREETING);\n"


def test_inline_deploy_is_served(suite):
    hello = site_get(suite, DEV_SITE, "/hello")
    assert_status(hello, 200)
    assert hello.text == "hello from the fixture"
    notes = site_get(suite, DEV_SITE, "/notes.txt")
    assert_status(notes, 200)
    assert notes.content == b"inline asset\n"
    pixel = site_get(suite, DEV_SITE, "/pixel.bin")
    assert_status(pixel, 200)
    assert pixel.content == bytes([0, 1, 2, 3, 255])
    assert_status(site_get(suite, DEV_SITE, "/hidden.txt"), 404)
    assert_status(site_get(suite, DEV_SITE, "/whoami"), 400)
    url = f"{suite.url}/{DEV_SITE}/whoami"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, {})
    signed = requests.get(url, headers={"X-Twilio-Signature": signature}, timeout=60)
    assert_status(signed, 200)
    assert signed.text == THANOS["sid"]


def test_project_deploy_is_served(suite):
    greet = site_get(suite, STAGE_SITE, "/greet", params={"name": "fixture"})
    assert_status(greet, 200)
    assert greet.json() == {"greeting": "hi, fixture"}
    style = site_get(suite, STAGE_SITE, "/style.css")
    assert_status(style, 200)
    assert style.content == (FIXTURE_PROJECT / "assets" / "style.css").read_bytes()
    by_host = requests.get(f"{suite.url}/greet", headers={"Host": STAGE_SITE}, timeout=60)
    assert_status(by_host, 200)
    assert by_host.json() == {"greeting": "hi, world"}


def test_environment_without_a_deploy_serves_nothing(suite):
    assert_status(site_get(suite, "thanos-1234.twil.io", "/hello"), 404)


def test_nothing_but_the_fixture_is_served(suite):
    """Started with a fixture and no project: no demo service is added."""
    names = [service["unique_name"] for service in suite.api.list_all("/v1/Services")]
    assert names == ["thanos", "from-project"]


# --- invalid fixtures -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_fixture_stops_start_up(kind, tmp_path):
    fixture, field, message = invalid_fixture(kind)
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(fixture))
    result = run_twirl("serve", "--port", "0", "--ephemeral", "--fixture", path, cwd=tmp_path, timeout=60)
    assert result.returncode != 0, result
    assert "twirl listening" not in result.stdout, result.stdout
    # The error names the file, then the field.
    assert f"twirl: fixture {path}: {field}: " in result.stderr, result.stderr
    assert message in result.stderr.split(f"{field}: ", 1)[1], result.stderr


def test_a_fixture_that_is_not_json_is_named_with_the_line(tmp_path):
    """Among several fixtures, the error says which file is broken and where."""
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "services": [\n    {"unique_name": "x",}\n  ]\n}\n')
    result = run_twirl("serve", "--port", "0", "--ephemeral", "--fixture", FIXTURE, "--fixture", broken,
                       cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "twirl listening" not in result.stdout
    assert result.stderr.strip() == f"twirl: fixture {broken}: not valid JSON: trailing comma at line 3 column 25"


def test_start_up_fixtures_are_all_or_nothing(tmp_path):
    """A valid fixture followed by an invalid one: start-up fails as a whole."""
    bad, field, _ = invalid_fixture("variable_too_long")
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps(renamed_for_runtime(bad)))
    result = run_twirl("serve", "--port", "0", "--ephemeral", "--fixture", FIXTURE, "--fixture", bad_path,
                       cwd=tmp_path, timeout=60)
    assert result.returncode != 0
    assert "twirl listening" not in result.stdout
    assert f"twirl: fixture {bad_path}: services[0].environments[1].variables.GREETING.value: " \
        in result.stderr, result.stderr


@pytest.mark.parametrize("kind", sorted(INVALID))
def test_invalid_fixture_at_run_time_is_a_400_and_stores_nothing(kind, suite):
    fixture, field, message = invalid_fixture(kind, runtime=True)
    before = suite.api.fetch("/v1/Services?PageSize=50")
    before_tree = sid_tree(suite.api)
    response = requests.post(f"{suite.url}/_twirl/fixtures", data=json.dumps(fixture),
                             headers={"Content-Type": "application/json"}, timeout=60)
    body = assert_twilio_error(response, 400)
    assert body["message"].startswith(f"{field}: "), body
    assert message in body["message"], body
    assert suite.api.fetch("/v1/Services?PageSize=50") == before
    assert sid_tree(suite.api) == before_tree


def test_fixture_at_run_time_with_other_credentials_is_refused(suite):
    fixture = renamed_for_runtime(load_fixture_json())
    fixture["credentials"] = {"account_sid": new_sid("AC"), "auth_token": "a" * 32}
    before = suite.api.fetch("/v1/Services?PageSize=50")
    response = requests.post(f"{suite.url}/_twirl/fixtures", json=fixture, timeout=60)
    body = assert_twilio_error(response, 400)
    assert body["message"].startswith("credentials: "), body
    assert suite.api.fetch("/v1/Services?PageSize=50") == before


def test_not_json_at_run_time_is_a_400(suite):
    response = requests.post(f"{suite.url}/_twirl/fixtures", data="{not json",
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert_twilio_error(response, 400)


def test_valid_fixture_at_run_time_loads_and_reset_forgets_it(own_suite):
    """The renamed suite loads beside itself (so each invalid variant above failed for its one
    change), with the same credentials allowed; reset keeps only the start-up fixture."""
    fixture = renamed_for_runtime(load_fixture_json())
    fixture["credentials"] = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
    response = requests.post(f"{own_suite.url}/_twirl/fixtures", json=fixture, timeout=60)
    assert_status(response, 201)
    names = [service["unique_name"] for service in own_suite.api.list_all("/v1/Services")]
    assert names == ["thanos", "from-project", "thanos-runtime", "from-project-runtime"]
    runtime = [s for s in own_suite.api.list_all("/v1/Services") if s["unique_name"] == "thanos-runtime"][0]
    environments = own_suite.api.list_all(f"/v1/Services/{runtime['sid']}/Environments")
    dev = [e for e in environments if e["domain_suffix"] == "dev"][0]
    hello = site_get(own_suite, dev["domain_name"], "/hello")
    assert_status(hello, 200)
    assert hello.text == "hello from the fixture"
    # Loaded twice, the same content gives the same SIDs again: a conflict, and nothing stored.
    before = own_suite.api.fetch("/v1/Services?PageSize=50")
    again = requests.post(f"{own_suite.url}/_twirl/fixtures", json=fixture, timeout=60)
    assert_twilio_error(again, 400)
    assert own_suite.api.fetch("/v1/Services?PageSize=50") == before
    assert_status(requests.post(f"{own_suite.url}/_twirl/reset", timeout=60), 200)
    assert sid_tree(own_suite.api) == EXPECTED_TREE


# --- reset ------------------------------------------------------------------------------------------

def test_reset_returns_to_the_fixture_state(own_suite):
    api = own_suite.api
    extra = api.create("/v1/Services", {"UniqueName": "extra-service", "FriendlyName": "extra"})
    thanos_path = f"/v1/Services/{THANOS['sid']}"
    dev_path = f"{thanos_path}/Environments/{THANOS['environments']['dev-environment']['sid']}"
    api.create(f"{thanos_path}/Environments", {"UniqueName": "qa-environment", "DomainSuffix": "qa"})
    api.create(f"{dev_path}/Variables", {"Key": "EXTRA", "Value": "1"})
    assert_status(api.post(f"{dev_path}/Variables/{THANOS['environments']['dev-environment']['variables']['GREETING']}",
                           data={"Value": "changed"}), 200)
    function = api.create(f"{thanos_path}/Functions", {"FriendlyName": "/added"})
    assert_status(api.upload_version(THANOS["sid"], "Functions", function["sid"], "/added", "public",
                                     "exports.handler = (c, e, cb) => cb(null, 'added');"), 201)
    assert_status(api.delete(f"/v1/Services/{FROM_PROJECT['sid']}"), 204)
    assert_status(requests.post(f"{own_suite.url}/_twirl/clock", json={"advance_seconds": 3600}, timeout=30), 200)
    assert sid_tree(api) != EXPECTED_TREE

    response = requests.post(f"{own_suite.url}/_twirl/reset", timeout=60)
    assert_status(response, 200)
    assert response.json()["status"] == "reset"
    assert sid_tree(api) == EXPECTED_TREE
    assert_twilio_error(api.get(f"/v1/Services/{extra['sid']}"), 404)
    variables = api.list_all(f"{dev_path}/Variables")
    assert [(v["key"], v["value"]) for v in variables] == [("GREETING", "hello from the fixture")]
    clock = requests.get(f"{own_suite.url}/_twirl/clock", timeout=30).json()
    assert clock["offset_seconds"] == 0, clock
    hello = site_get(own_suite, DEV_SITE, "/hello")
    assert_status(hello, 200)
    assert hello.text == "hello from the fixture"
    greet = site_get(own_suite, STAGE_SITE, "/greet")
    assert_status(greet, 200)
    assert greet.json() == {"greeting": "hi, world"}


def test_twirl_reset_subcommand(own_suite):
    api = own_suite.api
    api.create("/v1/Services", {"UniqueName": "to-be-reset", "FriendlyName": "to-be-reset"})
    result = run_twirl("reset", "--url", own_suite.url, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "reset"
    assert sid_tree(api) == EXPECTED_TREE


# --- the clock and retention ------------------------------------------------------------------------

def test_clock_advance_makes_retention_observable(own_suite):
    api = own_suite.api
    path = f"/v1/Services/{THANOS['sid']}"
    function = api.create(f"{path}/Functions", {"FriendlyName": "/draft"})
    version = api.upload_version(THANOS["sid"], "Functions", function["sid"], "/draft", "public",
                                 "exports.handler = (c, e, cb) => cb(null, 'draft');")
    assert_status(version, 201)
    version_sid = version.json()["sid"]
    build = api.create(f"{path}/Builds", {"FunctionVersions": [version_sid]})
    status = eventually(lambda: api.fetch(f"{path}/Builds/{build['sid']}/Status"),
                        lambda s: s["status"] != "building", timeout=180)
    assert status["status"] == "completed", status
    version_path = f"{path}/Functions/{function['sid']}/Versions/{version_sid}"

    result = run_twirl("clock", "--url", own_suite.url, "--advance", "6d", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["offset_seconds"] == 6 * DAY
    assert_status(api.get(f"{path}/Builds/{build['sid']}"), 200)
    assert_status(api.get(version_path), 200)

    result = run_twirl("clock", "--advance", "2d", env={"TWIRL_URL": own_suite.url}, timeout=60)
    assert result.returncode == 0, result.stderr
    advanced = json.loads(result.stdout)
    assert advanced["offset_seconds"] == 8 * DAY, advanced
    # One pass: the undeployed build, then the version it alone held, then the function left
    # without versions.
    assert {key: advanced["swept"][key] for key in ("builds", "versions", "resources", "logs")} == \
        {"builds": 1, "versions": 1, "resources": 1, "logs": 0}, advanced
    assert_twilio_error(api.get(f"{path}/Builds/{build['sid']}"), 404)
    assert_twilio_error(api.get(version_path), 404)
    assert_twilio_error(api.get(f"{path}/Functions/{function['sid']}"), 404)
    # What the fixture deployed is in use, and stays.
    assert sid_tree(api) == EXPECTED_TREE
    shown = run_twirl("clock", "--url", own_suite.url, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["offset_seconds"] == 8 * DAY
    hello = site_get(own_suite, DEV_SITE, "/hello")
    assert_status(hello, 200)

    # Logs go after 30 days.
    stage = FROM_PROJECT["environments"]["stage-environment"]["sid"]
    assert_status(site_get(own_suite, STAGE_SITE, "/log", params={"tag": "retention"}), 200)
    logs = wait_for_logs(api, FROM_PROJECT["sid"], stage, 1)
    log_path = f"/v1/Services/{FROM_PROJECT['sid']}/Environments/{stage}/Logs/{logs[0]['sid']}"
    result = run_twirl("clock", "--url", own_suite.url, "--advance", "29d", timeout=60)
    assert json.loads(result.stdout)["swept"]["logs"] == 0, result.stdout
    assert_status(api.get(log_path), 200)
    result = run_twirl("clock", "--url", own_suite.url, "--advance", "1d", timeout=60)
    assert json.loads(result.stdout)["swept"]["logs"] == 1, result.stdout
    assert_twilio_error(api.get(log_path), 404)
    assert sid_tree(api) == EXPECTED_TREE


def test_clock_rejects_a_bad_duration(suite):
    result = run_twirl("clock", "--url", suite.url, "--advance", "7w", timeout=60)
    assert result.returncode != 0
    assert "7w" in result.stderr, result.stderr
    assert requests.get(f"{suite.url}/_twirl/clock", timeout=30).json()["offset_seconds"] == 0


# --- export -----------------------------------------------------------------------------------------

def get_text(server, path):
    response = server.api.get(path)
    assert_status(response, 200)
    return response.text


def every_get(server):
    """Every list and fetch of the API, as (path, body text), in a fixed order."""
    out = []

    def grab(path):
        text = get_text(server, path)
        out.append((path, text))
        return json.loads(text)

    for service in grab("/v1/Services?PageSize=50")["services"]:
        sp = f"/v1/Services/{service['sid']}"
        grab(sp)
        for kind in ("Functions", "Assets"):
            for resource in grab(f"{sp}/{kind}?PageSize=50")[kind.lower()]:
                rp = f"{sp}/{kind}/{resource['sid']}"
                grab(rp)
                for version in grab(f"{rp}/Versions?PageSize=50")[f"{kind[:-1].lower()}_versions"]:
                    grab(f"{rp}/Versions/{version['sid']}")
                    if kind == "Functions":
                        grab(f"{rp}/Versions/{version['sid']}/Content")
        for build in grab(f"{sp}/Builds?PageSize=50")["builds"]:
            grab(f"{sp}/Builds/{build['sid']}")
            grab(f"{sp}/Builds/{build['sid']}/Status")
        for environment in grab(f"{sp}/Environments?PageSize=50")["environments"]:
            ep = f"{sp}/Environments/{environment['sid']}"
            grab(ep)
            for variable in grab(f"{ep}/Variables?PageSize=50")["variables"]:
                grab(f"{ep}/Variables/{variable['sid']}")
            for deployment in grab(f"{ep}/Deployments?PageSize=50")["deployments"]:
                grab(f"{ep}/Deployments/{deployment['sid']}")
            for log in grab(f"{ep}/Logs?PageSize=50")["logs"]:
                grab(f"{ep}/Logs/{log['sid']}")
    return out


def wait_for_logs(api, service_sid, environment_sid, count):
    path = f"/v1/Services/{service_sid}/Environments/{environment_sid}/Logs"
    logs = eventually(lambda: api.fetch(path)["logs"], lambda found: len(found) >= count, timeout=LOG_WAIT)
    assert len(logs) >= count, logs
    return logs


def test_export_round_trip(tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    a = fixture_server(a_dir)
    try:
        api = a.api
        # More state through the API: a whole project deploy (uploads, a build, variables, a
        # deployment), a second build and deployment, an updated and a deleted variable, a
        # function without versions, a clock offset, and invocations that log.
        deployed = deploy_project(api, FIXTURE_PROJECT, "exported-extra", variables={"GREETING": "hey",
                                                                                        "DOOMED": "x"})
        second = api.create(f"{deployed.service_path}/Builds", {
            "FunctionVersions": [deployed.version_sids["/greet"], deployed.version_sids["/log"]],
            "Dependencies": json.dumps([{"name": "twilio", "version": "^5.0.0"},
                                        {"name": "@twilio/runtime-handler", "version": "2.1.0"}]),
        })
        status = eventually(lambda: api.fetch(f"{deployed.service_path}/Builds/{second['sid']}/Status"),
                            lambda s: s["status"] != "building", timeout=180)
        assert status["status"] == "completed", status
        api.create(f"{deployed.environment_path}/Deployments", {"BuildSid": second["sid"]})
        variables = {v["key"]: v for v in api.list_all(f"{deployed.environment_path}/Variables")}
        assert_status(api.post(f"{deployed.environment_path}/Variables/{variables['GREETING']['sid']}",
                               data={"Value": "hey there"}), 200)
        assert_status(api.delete(f"{deployed.environment_path}/Variables/{variables['DOOMED']['sid']}"), 204)
        api.create(f"/v1/Services/{THANOS['sid']}/Functions", {"FriendlyName": "/unversioned"})
        assert_status(requests.post(f"{a.url}/_twirl/clock", json={"advance_seconds": 3600}, timeout=30), 200)
        for tag in ("one", "two"):
            assert_status(site_get(a, STAGE_SITE, "/log", params={"tag": tag}), 200)
        assert_status(site_get(a, deployed.domain_name, "/log", params={"tag": "extra"}), 200)
        wait_for_logs(api, FROM_PROJECT["sid"], FROM_PROJECT["environments"]["stage-environment"]["sid"], 2)
        wait_for_logs(api, deployed.service_sid, deployed.environment_sid, 1)
        a_greet = site_get(a, deployed.domain_name, "/greet")
        assert_status(a_greet, 200)
        assert a_greet.json() == {"greeting": "hey there, world"}

        exported = run_twirl("export", "--url", a.url, timeout=60)
        assert exported.returncode == 0, exported.stderr
        export = json.loads(exported.stdout)
        assert requests.get(f"{a.url}/_twirl/export", timeout=60).json() == export
        assert export["credentials"] == {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
        assert export["clock_offset_seconds"] == 3600
        a_bodies = every_get(a)
    finally:
        a.stop()

    export_path = b_dir / "export.json"
    export_path.write_text(exported.stdout)
    b = FixtureServer(b_dir, [export_path]).start()
    try:
        assert b.account_sid == ACCOUNT_SID  # the export's credentials set the account
        b.authenticate(ACCOUNT_SID, AUTH_TOKEN)
        a_host, b_host = a.url.split("//", 1)[1], b.url.split("//", 1)[1]
        b_bodies = every_get(b)
        assert [path for path, _ in b_bodies] == [path for path, _ in a_bodies]
        assert len(a_bodies) > 60, len(a_bodies)
        for (path, a_text), (_, b_text) in zip(a_bodies, b_bodies):
            assert b_text == a_text.replace(a_host, b_host), f"GET {path} differs"
        # Loaded back, it exports the same; and what was deployed is served the same.
        assert requests.get(f"{b.url}/_twirl/export", timeout=60).json() == export
        b_greet = site_get(b, deployed.domain_name, "/greet")
        assert_status(b_greet, 200)
        assert b_greet.json() == {"greeting": "hey there, world"}
        hello = site_get(b, DEV_SITE, "/hello")
        assert_status(hello, 200)
        assert hello.text == "hello from the fixture"
    finally:
        b.stop()


# --- control subcommands ----------------------------------------------------------------------------

def test_health_subcommand(suite):
    result = run_twirl("health", "--url", suite.url, timeout=30)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"status": "ok"}
    from_env = run_twirl("health", env={"TWIRL_URL": suite.url}, timeout=30)
    assert from_env.returncode == 0, from_env.stderr
    assert json.loads(from_env.stdout) == {"status": "ok"}


def test_health_of_nothing_fails(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_twirl("health", "--url", f"http://127.0.0.1:{port}", timeout=30)
    assert result.returncode != 0
    assert "cannot reach twirl" in result.stderr, result.stderr
