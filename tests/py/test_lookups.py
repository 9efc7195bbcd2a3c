"""Lookup v2 through the real binary: validation and formatting of international and national numbers
(`CountryCode`), Twilio's validation errors, the data packages `Fields` asks for with twirl's defaults,
line types from the numbering plan, magic numbers and fixtures, Twilio's errors, a function that signs
users up only with mobile numbers, and every lookup in the console's request log."""

import json
import shutil
import threading

import pytest
import requests

from conftest import REPO_ROOT, running_project_server
from support import assert_twilio_error

PROJECT = REPO_ROOT / "fixtures" / "verify-project"
PACKAGES = ["caller_name", "sim_swap", "call_forwarding", "line_status", "line_type_intelligence", "identity_match",
            "reassigned_number", "sms_pumping_risk", "phone_number_quality_score", "pre_fill"]


def lookup(server, number, **params):
    response = server.api.get(f"/lookups/v2/PhoneNumbers/{requests.utils.quote(number, safe='')}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("number, params, expected", [
    ("+14159929960", {}, ("+14159929960", "US", "1", "(415) 992-9960")),
    ("(415) 992-9960", {}, ("+14159929960", "US", "1", "(415) 992-9960")),
    ("07400 123456", {"CountryCode": "GB"}, ("+447400123456", "GB", "44", "07400 123456")),
    ("0612345678", {"CountryCode": "fr"}, ("+33612345678", "FR", "33", "06 12 34 56 78")),
    ("+4915123456789", {}, ("+4915123456789", "DE", "49", "01512 3456789")),
])
def test_numbers_are_validated_and_formatted(twirl, number, params, expected):
    body = lookup(twirl, number, **params)
    assert (body["phone_number"], body["country_code"], body["calling_country_code"],
            body["national_format"]) == expected
    assert body["valid"] is True and body["validation_errors"] == []
    assert all(body[package] is None for package in PACKAGES), "no package unless Fields asks"
    assert body["url"] == f"{twirl.url}/lookups/v2/PhoneNumbers/{expected[0]}"


@pytest.mark.parametrize("number, params, error", [
    ("+141599299600", {}, "TOO_LONG"),
    ("+1415", {}, "TOO_SHORT"),
    ("hello", {}, "NOT_A_NUMBER"),
    ("+999123456789", {}, "INVALID_COUNTRY_CODE"),
    ("4155550100", {"CountryCode": "ZZ"}, "INVALID_COUNTRY_CODE"),
    ("+15551234567", {}, "INVALID_BUT_POSSIBLE"),
])
def test_invalid_numbers_say_why(twirl, number, params, error):
    body = lookup(twirl, number, Fields="line_type_intelligence", **params)
    assert body["valid"] is False and body["validation_errors"] == [error]
    assert (body["country_code"], body["calling_country_code"], body["national_format"]) == (None, None, None)
    assert body["line_type_intelligence"] is None


def test_packages_have_twirls_defaults_and_line_types_from_the_plan(twirl):
    body = lookup(twirl, "+14159929960", Fields=",".join(PACKAGES), LastVerifiedDate="20240131")
    assert body["line_type_intelligence"] == {"mobile_country_code": "001", "mobile_network_code": "01",
                                              "carrier_name": "twirl Mobile", "type": "mobile", "error_code": None}
    assert body["caller_name"] == {"caller_name": None, "caller_type": None, "error_code": None}
    assert body["reassigned_number"]["last_verified_date"] == "20240131"
    assert body["line_status"] == {"status": "active", "error_code": None}
    assert body["pre_fill"]["country_code"] == "US"
    for number, kind in (("+442079460958", "landline"), ("+18005550199", "tollFree"), ("+15005550012", "landline"),
                         ("+447400123456", "mobile")):
        lti = lookup(twirl, number, Fields="line_type_intelligence")["line_type_intelligence"]
        assert lti["type"] == kind, number
    assert lookup(twirl, "+18005550199", Fields="line_type_intelligence")["line_type_intelligence"][
        "carrier_name"] is None, "toll-free numbers have no carrier"


def test_fixtures_declare_what_lookup_knows_about_a_number(fresh_twirl):
    fixture = {"lookups": [{"phone_number": "+14155550170",
                            "line_type_intelligence": {"type": "landline", "carrier_name": "Acme Telecom"},
                            "caller_name": {"caller_name": "ADA LOVELACE", "caller_type": "CONSUMER"}}]}
    loaded = requests.post(f"{fresh_twirl.url}/_twirl/fixtures", json=fixture, timeout=30)
    assert loaded.status_code == 201, loaded.text
    body = lookup(fresh_twirl, "(415) 555-0170", Fields="line_type_intelligence,caller_name")
    assert body["line_type_intelligence"] == {"mobile_country_code": None, "mobile_network_code": None,
                                              "carrier_name": "Acme Telecom", "type": "landline", "error_code": None}
    assert body["caller_name"] == {"caller_name": "ADA LOVELACE", "caller_type": "CONSUMER", "error_code": None}
    for bad in ({"lookups": [{"phone_number": "12"}]},
                {"lookups": [{"phone_number": "+14155550170", "carrier": {}}]},
                {"lookups": [{"phone_number": "+14155550170", "caller_name": "Ada"}]}):
        refused = requests.post(f"{fresh_twirl.url}/_twirl/fixtures", json=bad, timeout=30)
        assert refused.status_code == 400 and refused.json()["message"].startswith("lookups[0]"), refused.text


def test_lookup_errors(twirl):
    assert_twilio_error(twirl.api.get("/lookups/v2/PhoneNumbers/+14159929960", params={"Fields": "horoscope"}),
                        400, 20001)
    assert_twilio_error(requests.get(f"{twirl.url}/lookups/v2/PhoneNumbers/+14159929960", timeout=30), 401, 20003)
    assert_twilio_error(twirl.api.post("/lookups/v2/PhoneNumbers/+14159929960"), 405, 20004)
    assert_twilio_error(twirl.api.get("/lookups/v1/PhoneNumbers/+14159929960"), 404, 20404)


@pytest.fixture(scope="module")
def project_server(tmp_path_factory):
    project = tmp_path_factory.mktemp("lookups") / "project"
    shutil.copytree(PROJECT, project)
    yield from running_project_server(tmp_path_factory.mktemp("lookups-server"), project)


def test_a_function_signs_up_mobiles_only_and_the_console_logs_each_lookup(project_server):
    server = project_server
    events, ready = [], threading.Event()

    def listen():
        with requests.get(f"{server.url}/_twirl/events", stream=True, timeout=60) as stream:
            ready.set()
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event.get("type") == "request" and event["domain"] == "lookups.twilio.com":
                        events.append(event)
                        if len(events) == 3:
                            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)
    service = server.api.create("/verify/v2/Services", {"FriendlyName": "Signup"})["sid"]
    signup = lambda **p: requests.get(f"{server.url}/signup", params={"service": service, **p}, timeout=60).json()
    joined = signup(phone="(415) 555-0171")
    assert (joined["phone"], joined["national"], joined["type"]) == ("+14155550171", "(415) 555-0171", "mobile")
    assert joined["sid"].startswith("VE")
    assert signup(phone="020 7946 0958", country="GB") == {"refused": "landline", "phone": "+442079460958"}
    assert signup(phone="555") == {"refused": "invalid", "errors": ["TOO_SHORT"]}
    listener.join(20)
    assert [(e["method"], e["status"]) for e in events] == [("GET", 200)] * 3
    assert events[0]["path"].startswith("/v2/PhoneNumbers/") and "Fields=line_type_intelligence" in events[0]["path"]
