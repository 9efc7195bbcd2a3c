"""twirl driven through the official twilio-python helper library, as an application would."""

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from operator import attrgetter

import pytest
from twilio.base.exceptions import TwilioRestException

from support import (
    DATE_TIME_RE,
    DEPENDENCIES,
    assert_build_contents,
    assert_dependencies,
    assert_status,
    assert_twilio_error,
    new_sid,
    poll_build,
    unique_name,
    wrapped_dependencies,
)

DAY = 24 * 60 * 60


@contextmanager
def raises_twilio(client, status, code):
    """The block raises TwilioRestException with this HTTP status (None: any 4xx) and Twilio code
    (None: any code), and the body the server sent is a well-formed Twilio error."""
    with pytest.raises(TwilioRestException) as info:
        yield info
    body = assert_twilio_error(client.http_client.last_response, status, code)
    assert (info.value.status, info.value.code) == (body["status"], body["code"]), info.value


def assert_credentials_rejected(client):
    # A fetch, not a list: the library reports list pages that fail with a plain TwilioException.
    with raises_twilio(client, 401, 20003) as info:
        client.serverless.v1.services(new_sid("ZS")).fetch()
    assert "Authenticate" in str(info.value)


def create_service(client):
    name = unique_name()
    return client.serverless.v1.services.create(unique_name=name, friendly_name=f"Friendly {name}")


def upload(twirl, kind, resource, path, visibility="public", content="exports.handler = () => {};", **kwargs):
    """Create a version the way serverless-api does (the helper library has no method for it)."""
    response = twirl.upload_version(resource.service_sid, kind, resource.sid, path, visibility, content, **kwargs)
    assert_status(response, 201)
    return response.json()


def wait_for_build(build):
    """Poll the build's status through the client until it leaves `building`."""
    return poll_build(lambda: build.build_status().fetch(), status_of=attrgetter("status"))


def test_service_lifecycle(client):
    name = unique_name()
    service = client.serverless.v1.services.create(unique_name=name, friendly_name="First",
                                                    include_credentials=False, ui_editable=True)
    assert re.fullmatch(r"ZS[0-9a-f]{32}", service.sid)
    assert (service.unique_name, service.friendly_name) == (name, "First")
    assert (service.include_credentials, service.ui_editable) == (False, True)
    assert re.fullmatch(re.escape(name) + r"-\d{4}", service.domain_base)
    assert isinstance(service.date_created, datetime) and isinstance(service.date_updated, datetime)
    assert service.links["environments"] == service.url + "/Environments"

    assert client.serverless.v1.services(service.sid).fetch().sid == service.sid
    assert client.serverless.v1.services(name).fetch().sid == service.sid

    updated = service.update(friendly_name="Second", include_credentials=True, ui_editable=False)
    assert (updated.friendly_name, updated.include_credentials, updated.ui_editable) == ("Second", True, False)
    assert updated.unique_name == name and updated.date_created == service.date_created

    assert client.serverless.v1.services(name).delete() is True
    with raises_twilio(client, 404, 20404):
        client.serverless.v1.services(service.sid).fetch()


def test_services_page_through_stream_and_list(client):
    created = [create_service(client).sid for _ in range(7)]
    streamed = [service.sid for service in client.serverless.v1.services.stream(page_size=3)]
    listed = [service.sid for service in client.serverless.v1.services.list(page_size=3)]
    assert streamed == listed
    assert len(streamed) == len(set(streamed))
    assert [sid for sid in streamed if sid in created] == created

    page = client.serverless.v1.services.page(page_size=3)
    assert len(list(page)) == 3 and page.next_page_url.startswith(client.serverless.base_url)
    assert page.previous_page_url is None
    second = page.next_page()
    assert [s.sid for s in second] == streamed[3:6]
    assert [s.sid for s in second.previous_page()] == streamed[:3]
    assert [s.sid for s in client.serverless.v1.services.list(limit=4, page_size=3)] == streamed[:4]


def test_environment_lifecycle(client):
    service = create_service(client)
    environments = client.serverless.v1.services(service.sid).environments
    dev = environments.create(unique_name="dev-environment", domain_suffix="dev")
    production = environments.create(unique_name="production")
    assert dev.domain_name == f"{service.domain_base}-dev.twil.io" and dev.build_sid is None
    assert production.domain_name == f"{service.domain_base}.twil.io" and production.domain_suffix is None
    assert environments(dev.sid).fetch().unique_name == "dev-environment"
    assert sorted(e.sid for e in environments.list()) == sorted([dev.sid, production.sid])

    with raises_twilio(client, 409, None):
        environments.create(unique_name="dev-environment", domain_suffix="other")
    with raises_twilio(client, 409, None):
        environments.create(unique_name="other", domain_suffix="dev")

    assert environments(production.sid).delete() is True
    with raises_twilio(client, 404, 20404):
        environments(production.sid).fetch()


def test_functions_and_versions(client, twirl):
    service = client.serverless.v1.services(create_service(client).sid)
    function = service.functions.create(friendly_name="/hello")
    assert service.functions(function.sid).fetch().friendly_name == "/hello"
    assert service.functions(function.sid).update(friendly_name="/greet").friendly_name == "/greet"
    assert [f.sid for f in service.functions.list()] == [function.sid]

    source = "exports.handler = (context, event, callback) => callback(null, 'hi');"
    uploaded = upload(twirl, "Functions", function, "/greet", "private", source, filename="greet")
    versions = service.functions(function.sid).function_versions
    version = versions(uploaded["sid"]).fetch()
    assert (version.path, version.visibility, version.function_sid) == ("/greet", "private", function.sid)
    assert [v.sid for v in versions.list()] == [uploaded["sid"]]
    content = versions(uploaded["sid"]).function_version_content().fetch()
    assert content.content == source

    spare = service.functions.create(friendly_name="/spare")
    assert service.functions(spare.sid).delete() is True
    with raises_twilio(client, 404, 20404):
        service.functions(spare.sid).fetch()


def test_assets_and_versions(client, twirl):
    service = client.serverless.v1.services(create_service(client).sid)
    asset = service.assets.create(friendly_name="/logo.png")
    assert service.assets(asset.sid).fetch().friendly_name == "/logo.png"
    assert service.assets(asset.sid).update(friendly_name="/icon.png").friendly_name == "/icon.png"
    assert [a.sid for a in service.assets.list()] == [asset.sid]

    uploaded = upload(twirl, "Assets", asset, "/icon.png", "protected", b"\x89PNG\r\n\x1a\n",
                      filename="icon.png", content_type="image/png")
    versions = service.assets(asset.sid).asset_versions
    version = versions(uploaded["sid"]).fetch()
    assert (version.path, version.visibility, version.asset_sid) == ("/icon.png", "protected", asset.sid)
    assert [v.sid for v in versions.list()] == [uploaded["sid"]]

    assert service.assets(asset.sid).delete() is True
    with raises_twilio(client, 404, 20404):
        service.assets(asset.sid).fetch()


def test_full_deploy_flow(client, twirl):
    service = client.serverless.v1.services(create_service(client).sid)
    environment = service.environments.create(unique_name="dev-environment", domain_suffix="dev")
    function = service.functions.create(friendly_name="/hello")
    asset = service.assets.create(friendly_name="/index.html")
    function_version = upload(twirl, "Functions", function, "/hello",
                              content="exports.handler = (c, e, cb) => cb(null, 'hello');", filename="hello")
    asset_version = upload(twirl, "Assets", asset, "/index.html", content="<h1>hi</h1>",
                           filename="index.html", content_type="text/html")

    build = service.builds.create(function_versions=[function_version["sid"]],
                                  asset_versions=[asset_version["sid"]],
                                  dependencies=wrapped_dependencies(DEPENDENCIES), runtime="node22")
    assert build.status == "building"
    assert_build_contents(build.function_versions, build.asset_versions, build.dependencies,
                          function_version, asset_version)
    assert wait_for_build(service.builds(build.sid)).status == "completed"
    assert service.builds(build.sid).fetch().status == "completed"
    assert build.sid in [b.sid for b in service.builds.list()]

    deployments = service.environments(environment.sid).deployments
    deployment = deployments.create(build_sid=build.sid)
    assert (deployment.build_sid, deployment.environment_sid) == (build.sid, environment.sid)
    assert deployments(deployment.sid).fetch().build_sid == build.sid
    assert [d.sid for d in deployments.list()] == [deployment.sid]
    assert service.environments(environment.sid).fetch().build_sid == build.sid

    with raises_twilio(client, 409, None):
        deployments.create(build_sid=build.sid)
    with raises_twilio(client, 409, None):
        service.builds(build.sid).delete()

    spare = service.builds.create(function_versions=[function_version["sid"]])
    assert_dependencies(spare.dependencies)
    assert spare.runtime == "node22", "node22 is the default runtime"
    assert wait_for_build(service.builds(spare.sid)).status == "completed"
    assert service.builds(spare.sid).delete() is True
    with raises_twilio(client, 404, 20404):
        service.builds(spare.sid).fetch()


def test_variables(client):
    service = create_service(client)
    environment = client.serverless.v1.services(service.sid).environments.create(unique_name="dev")
    variables = client.serverless.v1.services(service.sid).environments(environment.sid).variables
    variable = variables.create(key="API_URL", value="https://example.com")
    assert (variable.key, variable.value) == ("API_URL", "https://example.com")
    assert variable.environment_sid == environment.sid
    assert variables(variable.sid).fetch().value == "https://example.com"
    assert variables(variable.sid).update(value="https://example.org").value == "https://example.org"
    assert [(v.key, v.value) for v in variables.list()] == [("API_URL", "https://example.org")]
    with raises_twilio(client, 409, None):
        variables.create(key="API_URL", value="again")
    assert variables(variable.sid).delete() is True
    assert variables.list() == []


def test_logs_are_empty_until_functions_run(client):
    service = create_service(client)
    environment = client.serverless.v1.services(service.sid).environments.create(unique_name="dev")
    logs = client.serverless.v1.services(service.sid).environments(environment.sid).logs
    assert logs.list() == []
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert logs.list(function_sid=new_sid("ZH"), start_date=start, end_date=start + timedelta(days=1)) == []
    with raises_twilio(client, 404, 20404):
        logs(new_sid("NO")).fetch()


def test_errors_carry_twilio_status_and_code(client, twirl):
    with raises_twilio(client, 404, 20404):
        client.serverless.v1.services(new_sid("ZS")).fetch()
    with raises_twilio(client, 400, 20001):
        client.serverless.v1.services.create(unique_name="", friendly_name="no name")
    service = create_service(client)
    with raises_twilio(client, 409, None):
        client.serverless.v1.services.create(unique_name=service.unique_name, friendly_name="duplicate")
    with raises_twilio(client, 400, 20001) as info:
        client.serverless.v1.services(service.sid).builds.create()
    assert "At least one Function Version or Asset Version is required for Build." in str(info.value)
    assert_credentials_rejected(twirl.client(password="wrong-token"))
    assert_credentials_rejected(twirl.client(username=new_sid("AC")))


def test_api_key_authentication(twirl):
    client = twirl.client(twirl.api_key_sid, twirl.api_key_secret, twirl.account_sid)
    service = create_service(client)
    assert service.account_sid == twirl.account_sid
    assert client.serverless.v1.services(service.sid).fetch().sid == service.sid
    assert service.sid in [s.sid for s in twirl.client().serverless.v1.services.list()]
    assert_credentials_rejected(twirl.client(twirl.api_key_sid, "wrong-secret", twirl.account_sid))
    assert_credentials_rejected(twirl.client(new_sid("SK"), twirl.api_key_secret, twirl.account_sid))


def test_service_quota(fresh_twirl):
    client = fresh_twirl.client()
    existing = len(client.serverless.v1.services.list())
    for _ in range(50 - existing):
        create_service(client)
    with raises_twilio(client, 400, 20001) as info:
        create_service(client)
    assert "Services are limited to less than or equal to 50" in str(info.value)
    assert len(client.serverless.v1.services.list()) == 50


def test_environment_quota(client):
    environments = client.serverless.v1.services(create_service(client).sid).environments
    for index in range(25):
        environments.create(unique_name=f"env-{index}", domain_suffix=f"s{index}")
    with raises_twilio(client, None, None):
        environments.create(unique_name="env-25", domain_suffix="s25")
    assert len(environments.list()) == 25


def test_retention_through_the_clock(fresh_twirl):
    client = fresh_twirl.client()
    service = client.serverless.v1.services(create_service(client).sid)
    environment = service.environments.create(unique_name="dev", domain_suffix="dev")
    function = service.functions.create(friendly_name="/hello")
    kept_version = upload(fresh_twirl, "Functions", function, "/hello", filename="hello")
    orphan_version = upload(fresh_twirl, "Functions", function, "/hello", content="// old", filename="hello")
    unused_function = service.functions.create(friendly_name="/unused")
    asset = service.assets.create(friendly_name="/data.json")
    kept_asset_version = upload(fresh_twirl, "Assets", asset, "/data.json", "private", "{}",
                                filename="data.json", content_type="application/json")
    unused_asset = service.assets.create(friendly_name="/unused.css")
    deployed = service.builds.create(function_versions=[kept_version["sid"]],
                                     asset_versions=[kept_asset_version["sid"]])
    undeployed = service.builds.create(function_versions=[kept_version["sid"]])
    for build in (deployed, undeployed):
        assert wait_for_build(service.builds(build.sid)).status == "completed"
    service.environments(environment.sid).deployments.create(build_sid=deployed.sid)

    clock = fresh_twirl.api.advance_clock(8 * DAY)
    assert clock["offset_seconds"] == 8 * DAY
    assert DATE_TIME_RE.match(clock["now"]), clock

    versions = service.functions(function.sid).function_versions
    assert service.builds(deployed.sid).fetch().status == "completed"
    assert versions(kept_version["sid"]).fetch().sid == kept_version["sid"]
    assert service.functions(function.sid).fetch().sid == function.sid
    assert service.assets(asset.sid).asset_versions(kept_asset_version["sid"]).fetch().path == "/data.json"
    assert service.environments(environment.sid).fetch().build_sid == deployed.sid
    for expired in (service.builds(undeployed.sid), versions(orphan_version["sid"]),
                    service.functions(unused_function.sid), service.assets(unused_asset.sid)):
        with raises_twilio(client, 404, 20404):
            expired.fetch()

    recent_version = upload(fresh_twirl, "Functions", function, "/hello", content="// new", filename="hello")
    assert fresh_twirl.api.advance_clock(DAY)["offset_seconds"] == 9 * DAY
    assert versions(recent_version["sid"]).fetch().sid == recent_version["sid"], "younger than 7 days"
