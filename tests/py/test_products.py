"""Product routing through the real binary: `https://{product}[.edge][.region].twilio.com/{path}` is
served when the request carries that Host (as redirected clients send it) and at `/{product}/{path}`
on twirl's own address; the 2010 API also at `/2010-04-01/…`, Serverless at `/v1/…`. Each answer
builds its URLs from where the client believes it is. A path the live project serves wins over a
product prefix; a product twirl does not emulate answers 404 in Twilio's shape."""

import pytest
import requests

from conftest import running_project_server
from support import assert_status, assert_twilio_error, write_function_project

FUNCTIONS = {
    "api/shadow": "exports.handler = (context, event, callback) => callback(null, 'the project wins');",
    "hello": "exports.handler = (context, event, callback) => callback(null, 'hello');",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    project = write_function_project(tmp_path_factory.mktemp("products-project"), FUNCTIONS)
    yield from running_project_server(tmp_path_factory.mktemp("twirl"), project)


def get(server, path, host=None, forwarded=None):
    headers = {}
    if host:
        headers["Host"] = host
    if forwarded:
        headers["X-Forwarded-Host"] = forwarded
        headers["X-Forwarded-Proto"] = "https"
    return requests.get(server.url + path, headers=headers, auth=(server.account_sid, server.auth_token),
                        timeout=30)


def test_the_2010_api_by_host_in_every_form_and_at_its_prefixes(server):
    account = server.account_sid
    path = f"/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json"
    for host in ["api.twilio.com", "api.ie1.twilio.com", "api.dublin.ie1.twilio.com", "API.Twilio.com:443"]:
        response = get(server, path, host=host)
        assert_status(response, 200)
        assert response.json()["uri"].startswith(path), host
    for prefix in ["", "/api"]:
        response = get(server, prefix + path)
        assert_status(response, 200)
        assert response.json()["first_page_uri"].startswith(path)


def test_v1_products_answer_with_urls_where_the_client_is(server):
    by_host = get(server, "/v1/Services", host="serverless.twilio.com")
    assert_status(by_host, 200)
    assert by_host.json()["meta"]["url"].startswith("https://serverless.twilio.com/v1/Services")
    regional = get(server, "/v1/Services", host="serverless-upload.sydney.au1.twilio.com")
    assert regional.json()["meta"]["url"].startswith("https://serverless-upload.sydney.au1.twilio.com/v1/")
    forwarded = get(server, "/v1/Services", forwarded="serverless.twilio.com")
    assert forwarded.json()["meta"]["url"].startswith("https://serverless.twilio.com/v1/Services")
    for prefix, origin in [("", server.url), ("/serverless", server.url + "/serverless")]:
        response = get(server, prefix + "/v1/Services")
        assert_status(response, 200)
        assert response.json()["meta"]["url"].startswith(origin + "/v1/Services")
        (service,) = response.json()["services"]
        assert service["url"] == f"{origin}/v1/Services/{service['sid']}"
    monitor = get(server, "/monitor/v1/Alerts")
    assert monitor.json()["meta"]["url"].startswith(server.url + "/monitor/v1/Alerts")


def test_the_live_projects_paths_win_over_product_prefixes(server):
    response = requests.get(server.url + "/api/shadow", timeout=30)
    assert_status(response, 200)
    assert response.text == "the project wins"
    assert_twilio_error(get(server, "/api/2010-04-01/Accounts/AC0/Nothing.json"), 404, 20404)
    assert "is served by the project" in server.stderr() + server.stdout()


def test_products_twirl_does_not_emulate_are_404_and_never_the_project(server):
    response = get(server, "/hello", host="conversations.twilio.com")
    assert_twilio_error(response, 404, 20404)
    assert "does not emulate conversations.twilio.com" in response.json()["message"]
    assert requests.get(server.url + "/hello", timeout=30).text == "hello"


def test_every_product_needs_the_accounts_credentials(server):
    for path in ["/v1/Services", f"/2010-04-01/Accounts/{server.account_sid}/Messages.json", "/monitor/v1/Alerts"]:
        assert_twilio_error(requests.get(server.url + path, timeout=30), 401, 20003)
        assert_twilio_error(requests.get(server.url + path, auth=(server.account_sid, "wrong"), timeout=30), 401, 20003)
