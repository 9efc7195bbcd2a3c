"""Bad input: each request gets a Twilio error (exactly code/message/more_info/status) and stores nothing."""

import pytest
import requests

from support import (
    MIB,
    Project,
    assert_status,
    assert_twilio_error,
    new_sid,
    unique_name,
    version_form,
)

LONG_KEY = "K" * 128
ACCENTED = "\u00e9"  # two bytes in UTF-8


@pytest.fixture(scope="module")
def project(api):
    return Project(api)


@pytest.fixture(scope="module")
def function(project):
    return project.create_resource("Functions", "/bad-input")


@pytest.fixture(scope="module")
def asset(project):
    return project.create_resource("Assets", "/bad-input.bin")


@pytest.fixture(scope="module")
def deployed(project):
    """A function version in a completed build deployed to the project's environment."""
    _, version = project.function_version("/deployed")
    build = project.build([version["sid"]])
    project.deploy(build["sid"])
    return {"version": version, "build": build}


def assert_rejected(api, list_path, send, status=None, code=None, message=None):
    """`send()` gets a Twilio error and the list at `list_path` is unchanged."""
    before = api.list_all(list_path)
    body = assert_twilio_error(send(), status, code, message)
    assert api.list_all(list_path) == before, f"{list_path} changed after a rejected request"
    return body


# Services

@pytest.mark.parametrize("overrides, message", [
    ({"IncludeCredentials": "maybe"}, None),
    ({"UiEditable": "maybe"}, None),
    ({"UniqueName": None}, "Missing required parameter UniqueName in the post body"),
    ({"FriendlyName": None}, None),
    ({"UniqueName": "x" * 51}, None),
    ({"UniqueName": "has space"}, None),
    ({"UniqueName": "under_score"}, None),
    ({"UniqueName": "dot.name"}, None),
])
def test_service_create_rejects_bad_params(api, overrides, message):
    """Overrides replace fields of an otherwise valid request; None leaves the field out."""
    data = {"UniqueName": unique_name(), "FriendlyName": "bad params", **overrides}
    data = {key: value for key, value in data.items() if value is not None}
    assert_rejected(api, "/v1/Services", lambda: api.post("/v1/Services", data=data), 400, 20001, message)


def test_service_unique_name_of_fifty_characters_is_accepted(api):
    name = unique_name("fifty").ljust(50, "x")
    service = api.create("/v1/Services", {"UniqueName": name, "FriendlyName": "fifty"})
    assert service["unique_name"] == name


def test_service_create_needs_a_form_body(api):
    send = lambda: api.post("/v1/Services", json={"UniqueName": unique_name(), "FriendlyName": "json"})
    assert_rejected(api, "/v1/Services", send)


def test_duplicate_service_unique_name_conflicts(api, project):
    send = lambda: api.post("/v1/Services", data={"UniqueName": project.service["unique_name"], "FriendlyName": "dup"})
    assert_rejected(api, "/v1/Services", send, 409)


def test_service_update_with_bad_boolean_changes_nothing(api, project):
    before = api.fetch(project.path)
    response = api.post(project.path, data={"UiEditable": "maybe", "FriendlyName": "changed"})
    assert_twilio_error(response, 400, 20001)
    assert api.fetch(project.path) == before


# Environments

@pytest.mark.parametrize("data, status, code", [
    ({"DomainSuffix": "nameless"}, 400, 20001),
    ({"UniqueName": "dev-environment", "DomainSuffix": "fresh"}, 409, None),
    ({"UniqueName": "fresh-environment", "DomainSuffix": "dev"}, 409, None),
])
def test_environment_create_rejects(api, project, data, status, code):
    path = f"{project.path}/Environments"
    assert_rejected(api, path, lambda: api.post(path, data=data), status, code)


# Functions and assets

@pytest.mark.parametrize("kind", ["Functions", "Assets"])
def test_function_and_asset_need_a_friendly_name(api, project, kind):
    path = f"{project.path}/{kind}"
    assert_rejected(api, path, lambda: api.post(path, data={}), 400, 20001)


# Unknown SIDs, wrong prefixes, unknown routes

def lookup_paths():
    """Paths (templates over the module's resources) that name no resource of the kind asked for."""
    return [
        "/v1/Services/{unknown_zs}",
        "/v1/Services/{unknown_zs}/Environments",
        "/v1/Services/{env}/Environments",
        "/v1/Services/{zs}/Environments/{unknown_ze}",
        "/v1/Services/{zs}/Environments/{function}",
        "/v1/Services/{zs}/Functions/{unknown_zh}",
        "/v1/Services/{zs}/Functions/{env}",
        "/v1/Services/{zs}/Functions/{asset}",
        "/v1/Services/{zs}/Assets/{function}",
        "/v1/Services/{zs}/Assets/{unknown_zh}/Versions",
        "/v1/Services/{zs}/Functions/{function}/Versions/{unknown_zn}",
        "/v1/Services/{zs}/Functions/{function}/Versions/{unknown_zn}/Content",
        "/v1/Services/{zs}/Functions/{function}/Versions/{build}",
        "/v1/Services/{zs}/Builds/{unknown_zb}",
        "/v1/Services/{zs}/Builds/{version}",
        "/v1/Services/{zs}/Builds/{unknown_zb}/Status",
        "/v1/Services/{zs}/Environments/{env}/Deployments/{unknown_zd}",
        "/v1/Services/{zs}/Environments/{env}/Deployments/{build}",
        "/v1/Services/{zs}/Environments/{env}/Variables/{unknown_zv}",
        "/v1/Services/{zs}/Environments/{env}/Logs/{unknown_no}",
        "/v1/Services/{other_zs}/Functions/{function}",
        "/v1/Services/{other_zs}/Environments/{env}",
    ]


@pytest.fixture(scope="module")
def sids(api, project, function, asset, deployed):
    other = api.create("/v1/Services", {"UniqueName": unique_name("other"), "FriendlyName": "other"})
    return {
        "zs": project.sid, "env": project.environment["sid"], "function": function["sid"], "asset": asset["sid"],
        "version": deployed["version"]["sid"], "build": deployed["build"]["sid"], "other_zs": other["sid"],
        **{f"unknown_{prefix.lower()}": new_sid(prefix) for prefix in ("ZS", "ZE", "ZH", "ZN", "ZB", "ZD", "ZV", "NO")},
    }


@pytest.mark.parametrize("path", lookup_paths())
def test_lookups_of_missing_resources_are_404(api, sids, path):
    assert_twilio_error(api.get(path.format(**sids)), 404, 20404)


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/v1/Services/{unknown_zs}"),
    ("POST", "/v1/Services/{unknown_zs}"),
    ("DELETE", "/v1/Services/{zs}/Functions/{unknown_zh}"),
    ("POST", "/v1/Services/{zs}/Assets/{function}"),
    ("DELETE", "/v1/Services/{zs}/Builds/{unknown_zb}"),
    ("DELETE", "/v1/Services/{zs}/Environments/{unknown_ze}"),
    ("POST", "/v1/Services/{zs}/Environments/{env}/Variables/{unknown_zv}"),
    ("DELETE", "/v1/Services/{zs}/Environments/{env}/Variables/{unknown_zv}"),
])
def test_changes_to_missing_resources_are_404(api, sids, method, path):
    response = api.request(method, path.format(**sids), data={"FriendlyName": "x", "Value": "x"})
    assert_twilio_error(response, 404, 20404)


def test_page_size_must_be_a_number(api):
    assert_twilio_error(api.get("/v1/Services", params={"PageSize": "many"}))


# Builds

@pytest.fixture(scope="module")
def version(project, function):
    return project.upload("Functions", function["sid"], "/bad-input")


def build_params(version, **overrides):
    return {"FunctionVersions": [version["sid"]], **overrides}


@pytest.mark.parametrize("overrides, status, code, message", [
    ({"FunctionVersions": []}, 400, 20001, "At least one Function Version or Asset Version is required for Build."),
    ({"Dependencies": "not json"}, 400, 20001, None),
    ({"Dependencies": '{"name": "twilio", "version": "5.0.0"}'}, 400, 20001, None),
    ({"Dependencies": '"[{"name": "twilio"'}, 400, 20001, None),
    ({"Runtime": "node7"}, 400, None, None),
    ({"FunctionVersions": ["{unknown_zn}"]}, None, None, None),
    ({"FunctionVersions": ["{function}"]}, None, None, None),
    ({"FunctionVersions": [], "AssetVersions": ["{version}"]}, None, None, None),
])
def test_build_create_rejects(api, project, version, sids, overrides, status, code, message):
    overrides = {key: [sid.format(**sids) for sid in value] if isinstance(value, list) else value
                 for key, value in overrides.items()}
    path = f"{project.path}/Builds"
    send = lambda: api.post(path, data=build_params(version, **overrides))
    assert_rejected(api, path, send, status, code, message)


@pytest.mark.parametrize("build_sid", ["{unknown_zb}", "{version}"])
def test_deployment_of_a_missing_build_is_rejected(api, project, sids, build_sid):
    path = f"{project.env_path}/Deployments"
    environment = api.fetch(project.env_path)
    assert_rejected(api, path, lambda: api.post(path, data={"BuildSid": build_sid.format(**sids)}))
    assert api.fetch(project.env_path) == environment


def test_redeploying_the_active_build_conflicts(api, project, deployed):
    path = f"{project.env_path}/Deployments"
    assert_rejected(api, path, lambda: api.post(path, data={"BuildSid": deployed["build"]["sid"]}), 409)


def test_deleting_the_deployed_build_conflicts(api, project, deployed):
    build_path = f"{project.path}/Builds/{deployed['build']['sid']}"
    assert_rejected(api, f"{project.path}/Builds", lambda: api.delete(build_path), 409)
    assert api.fetch(build_path)["sid"] == deployed["build"]["sid"]


# Variables

@pytest.fixture(scope="module")
def variable(api, project):
    return api.create(f"{project.env_path}/Variables", {"Key": "EXISTING", "Value": "1"})


@pytest.mark.parametrize("data, status, code", [
    ({"Value": "no key"}, 400, 20001),
    ({"Key": "NO_VALUE"}, 400, 20001),
    ({"Key": LONG_KEY + "K", "Value": "x"}, 400, 20001),
    ({"Key": "TOO_LONG", "Value": "v" * 451}, 400, 20001),
    ({"Key": "TOO_MANY_BYTES", "Value": ACCENTED * 226}, 400, 20001),
    ({"Key": "EXISTING", "Value": "again"}, 409, None),
])
def test_variable_create_rejects(api, project, variable, data, status, code):
    path = f"{project.env_path}/Variables"
    assert_rejected(api, path, lambda: api.post(path, data=data), status, code)


def test_variable_limits_are_inclusive(api, project):
    created = api.create(f"{project.env_path}/Variables", {"Key": LONG_KEY, "Value": ACCENTED * 225})
    assert (created["key"], created["value"]) == (LONG_KEY, ACCENTED * 225)


def test_variable_update_to_an_existing_key_conflicts(api, project, variable):
    other = api.create(f"{project.env_path}/Variables", {"Key": "OTHER", "Value": "2"})
    path = f"{project.env_path}/Variables"
    send = lambda: api.post(f"{path}/{other['sid']}", data={"Key": "EXISTING"})
    assert_rejected(api, path, send, 409)


# Version uploads

def versions_path(project, kind, resource):
    return f"{project.path}/{kind}/{resource['sid']}/Versions"


@pytest.mark.parametrize("path, visibility", [
    ("/../etc/passwd", "public"),
    ("/a/../b", "public"),
    ("/hello", "secret"),
    ("", "public"),
])
def test_upload_rejects_bad_path_or_visibility(api, project, function, path, visibility):
    send = lambda: api.upload_version(project.sid, "Functions", function["sid"], path, visibility, "x")
    assert_rejected(api, versions_path(project, "Functions", function), send, 400, 20001)


@pytest.mark.parametrize("kind, path", [("Functions", "hello/there"), ("Assets", "logo.txt")])
def test_upload_prepends_the_missing_leading_slash(api, project, function, asset, kind, path):
    """The spec's `path`: 'If a … Version creation request is submitted with a path not containing a
    leading slash, the path will automatically be prepended with one.'"""
    resource = function if kind == "Functions" else asset
    response = api.upload_version(project.sid, kind, resource["sid"], path, "public", "x")
    assert_status(response, 201)
    assert response.json()["path"] == f"/{path}"
    assert api.fetch(f"{versions_path(project, kind, resource)}/{response.json()['sid']}")["path"] == f"/{path}"


@pytest.mark.parametrize("missing", ["Path", "Visibility", "Content"])
def test_upload_rejects_missing_parts(api, project, function, missing):
    fields = [field for field in version_form("/hello", "public", "x") if field[0] != missing]
    path = versions_path(project, "Functions", function)
    assert_rejected(api, path, lambda: api.post(path, files=fields), 400, 20001)


def test_upload_rejects_a_truncated_body(api, project, function):
    path = versions_path(project, "Functions", function)
    prepared = requests.Request("POST", api.url(path), files=version_form("/hello", "public", "x" * 4096)).prepare()
    cut = prepared.body.index(b"x" * 4096) + 2048
    send = lambda: api.post(path, data=prepared.body[:cut],
                            headers={"Content-Type": prepared.headers["Content-Type"]})
    assert_rejected(api, path, send)


def test_upload_to_a_missing_or_mismatched_resource_is_404(api, project, asset):
    for kind, sid in (("Functions", new_sid("ZH")), ("Functions", asset["sid"]), ("Assets", new_sid("ZH"))):
        response = api.upload_version(project.sid, kind, sid, "/hello", "public", "x")
        assert_twilio_error(response, 404, 20404)


@pytest.mark.parametrize("visibility, size, accepted", [
    ("public", 25 * MIB + 1, False),
    ("protected", 25 * MIB + 1, False),
    ("private", 10 * MIB + 1, False),
    ("private", 9 * MIB, True),
    ("public", 11 * MIB, True),
])
def test_asset_size_limits(api, project, asset, visibility, size, accepted):
    path = versions_path(project, "Assets", asset)
    send = lambda: api.upload_version(project.sid, "Assets", asset["sid"], "/big.bin", visibility,
                                      b"\0" * size, filename="big.bin", content_type="application/octet-stream")
    if accepted:
        assert_status(send(), 201)
    else:
        # 413 Payload Too Large, with Twilio's invalid-parameter code 20001.
        assert_rejected(api, path, send, 413, 20001)


# Authentication

@pytest.mark.parametrize("auth", ["none", "wrong-token", "unknown-account", "wrong-key-secret", "garbage", "bearer"])
def test_bad_credentials_are_401(twirl, auth):
    headers = {"garbage": {"Authorization": "Basic !!!"}, "bearer": {"Authorization": f"Bearer {twirl.auth_token}"}}
    credentials = {"wrong-token": (twirl.account_sid, "nope"), "unknown-account": (new_sid("AC"), twirl.auth_token),
                   "wrong-key-secret": (twirl.api_key_sid, "nope")}
    send = lambda: requests.post(f"{twirl.url}/v1/Services", auth=credentials.get(auth), headers=headers.get(auth),
                                 data={"UniqueName": unique_name(), "FriendlyName": "intruder"}, timeout=30)
    assert_rejected(twirl.api, "/v1/Services", send, 401, 20003, "Authenticate")
