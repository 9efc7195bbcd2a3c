"""Verify through the real binary and real workers: a sign-up project (fixtures/verify-project) served
live, whose functions start and check verifications with `context.getTwilioClient().verify.v2`, the
code read back from where it was delivered — the handset's inbox (SMS, WhatsApp), the call's
transcript, the recorded mail — and Twilio's rules observed: wrong codes, five checks, five sends, the
ten minutes on the emulator's clock, cancel and approve, landlines, disabled channels, pinned codes,
and each error with its status and code."""

import re
import shutil

import pytest
import requests

from conftest import REPO_ROOT, running_project_server
from phone_support import Phone
from support import assert_twilio_error

PROJECT = REPO_ROOT / "fixtures" / "verify-project"
SENDER = "+18005550199"
CODE_RE = re.compile(r"verification code is: (\w+)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    project = tmp_path_factory.mktemp("verify") / "project"
    shutil.copytree(PROJECT, project)
    yield from running_project_server(tmp_path_factory.mktemp("verify-server"), project)


@pytest.fixture(scope="module")
def phone(server):
    return Phone(server.url)


class Verify:
    """The Verify API of one twirl, as the account, and the project's functions."""

    def __init__(self, server):
        self.server = server
        self.api = server.api

    def service(self, **settings):
        data = {"FriendlyName": "Acme", **settings}
        return self.api.create("/verify/v2/Services", data)["sid"]

    def post(self, path, data=None):
        return self.api.post(f"/verify/v2{path}", data=data or {})

    def start(self, service, to, channel="sms", **extra):
        response = self.post(f"/Services/{service}/Verifications", {"To": to, "Channel": channel, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    def check(self, service, code, **target):
        return self.post(f"/Services/{service}/VerificationCheck", {"Code": code, **target})

    def function(self, name, **params):
        response = requests.get(f"{self.server.url}/{name}", params=params, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()

    def codes(self, service):
        response = requests.get(f"{self.server.url}/_twirl/verify/services/{service}/verifications", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["verifications"]


@pytest.fixture(scope="module")
def verify(server):
    return Verify(server)


def inbox_code(phone, handset):
    """The code of the latest text the handset received from Verify."""
    texts = [m for m in phone.inbox(handset) if m["from"].endswith(SENDER)]
    assert texts, f"no text from Verify at {handset}"
    return CODE_RE.search(texts[-1]["body"]).group(1), texts[-1]


# --- a function sends a code to the handset and checks it ------------------------------------------

def test_a_code_sent_by_a_function_arrives_on_the_handset_and_signs_in(verify, phone, server):
    service = verify.service()
    started = verify.function("start", service=service, to="+14155550140")
    assert started["status"] == "pending" and started["channel"] == "sms" and started["sends"] == 1
    code, text = inbox_code(phone, "+14155550140")
    assert text["body"] == f"Your Acme verification code is: {code}"
    assert len(code) == 6 and text["status"] == "delivered" and text["from"] == SENDER
    listed = server.api.fetch(f"/2010-04-01/Accounts/{server.account_sid}/Messages.json",
                              params={"To": "+14155550140"})["messages"]
    assert [m["sid"] for m in listed] == [text["sid"]], "the text is in the Messages API too"

    wrong = "000000" if code != "000000" else "111111"
    assert verify.function("check", service=service, to="+14155550140", code=wrong) == {
        "status": "pending", "valid": False, "signedIn": False}
    assert verify.function("check", service=service, to="+14155550140", code=code) == {
        "status": "approved", "valid": True, "signedIn": True}
    again = verify.function("check", service=service, to="+14155550140", code=code)
    assert (again["error"]["status"], again["error"]["code"]) == (404, 20404), "approved ones are deleted"
    assert_twilio_error(verify.api.get(f"/verify/v2/Services/{service}/Verifications/{started['sid']}"), 404, 20404)
    (kept,) = verify.codes(service)
    assert (kept["status"], kept["code"], [c["correct"] for c in kept["checks"]]) == ("approved", code, [False, True])


def test_five_wrong_codes_end_the_verification_until_it_expires(verify, phone, server):
    service = verify.service()
    started = verify.function("start", service=service, to="+14155550141")
    code, _ = inbox_code(phone, "+14155550141")
    wrong = "999999" if code != "999999" else "888888"
    statuses = [verify.function("check", service=service, to="+14155550141", code=wrong)["status"]
                for _ in range(5)]
    assert statuses == ["pending"] * 4 + ["max_attempts_reached"]
    refused = verify.function("check", service=service, to="+14155550141", code=code)["error"]
    assert (refused["status"], refused["code"]) == (429, 60202), "even the right code"
    restarted = verify.function("start", service=service, to="+14155550141")["error"]
    assert (restarted["status"], restarted["code"]) == (429, 60202)

    server.api.advance_clock(600)
    again = verify.function("start", service=service, to="+14155550141")
    assert again["status"] == "pending" and again["sid"] != started["sid"]


def test_a_code_expires_ten_minutes_after_it_was_sent(fresh_twirl):
    fresh = Verify(fresh_twirl)
    service = fresh.service()
    started = fresh.start(service, "+14155550142")
    code, _ = inbox_code(Phone(fresh_twirl.url), "+14155550142")
    assert fresh.api.fetch(f"/verify/v2/Services/{service}/Verifications/{started['sid']}")["status"] == "pending"
    fresh_twirl.api.advance_clock(600)
    assert_twilio_error(fresh.check(service, code, To="+14155550142"), 404, 20404)
    assert_twilio_error(fresh.api.get(f"/verify/v2/Services/{service}/Verifications/{started['sid']}"), 404, 20404)
    (expired,) = fresh.codes(service)
    assert expired["status"] == "expired"


def test_starting_again_resends_the_same_code_five_times_at_most(verify, phone):
    service = verify.service()
    first = verify.start(service, "+14155550143")
    for sends in range(2, 6):
        again = verify.start(service, "+14155550143", channel="sms")
        assert (again["sid"], len(again["send_code_attempts"])) == (first["sid"], sends)
    codes = {CODE_RE.search(m["body"]).group(1) for m in phone.inbox("+14155550143")}
    assert len(codes) == 1 and len(phone.inbox("+14155550143")) == 5
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": "+14155550143", "Channel": "sms"}),
                        429, 60203)
    canceled = verify.post(f"/Services/{service}/Verifications/{first['sid']}", {"Status": "canceled"})
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    fresh = verify.start(service, "+14155550143")
    assert fresh["sid"] != first["sid"] and len(fresh["send_code_attempts"]) == 1


def test_an_application_approves_or_cancels_a_pending_verification(verify):
    service = verify.service()
    started = verify.start(service, "+14155550144")
    approved = verify.post(f"/Services/{service}/Verifications/{started['sid']}", {"Status": "approved"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved" and approved.json()["valid"]
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications/{started['sid']}", {"Status": "canceled"}),
                        404, 20404)
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications/{started['sid']}", {"Status": "done"}),
                        400, 60200)


# --- the other channels ------------------------------------------------------------------------------

def test_a_call_says_the_code(verify, server):
    service = verify.service(FriendlyName="Bank & Co")
    started = verify.function("start", service=service, to="+14155550145", channel="call")
    assert started["channel"] == "call"
    calls = requests.get(f"{server.url}/_twirl/phone/calls", timeout=30).json()["calls"]
    (call,) = [c for c in calls if c["to"] == "+14155550145"]
    assert call["from"] == SENDER and call["status"] == "completed"
    state = requests.get(f"{server.url}/_twirl/phone/calls/{call['sid']}", timeout=30).json()
    said = [line["text"] for line in state["transcript"] if line["verb"] == "say"]
    assert said[0].startswith("Your Bank & Co verification code is: ")
    code = "".join(re.findall(r"\d", said[0]))
    assert re.findall(r"\d", said[1]) == list(code)
    assert verify.function("check", service=service, to="+14155550145", code=code)["status"] == "approved"


def test_a_mail_is_recorded_for_the_email_channel_and_checked_by_sid(verify, server):
    service = verify.service(FriendlyName="Mailer")
    config = '{"from": "login@acme.test", "from_name": "Acme Login", "substitutions": {"name": "Ada"}}'
    started = verify.function("start", service=service, to="Ada@Example.com", channel="email",
                              channelConfiguration=config)
    assert started["channel"] == "email"
    response = requests.get(f"{server.url}/_twirl/verify/mails", params={"to": "ada@example.com"}, timeout=30)
    (mail,) = response.json()["mails"]
    assert (mail["from"], mail["from_name"], mail["subject"]) == ("login@acme.test", "Acme Login",
                                                                 "Your Mailer verification code")
    assert mail["substitutions"] == {"name": "Ada"} and mail["verification_sid"] == started["sid"]
    code = CODE_RE.search(mail["text"]).group(1)
    checked = verify.function("check", service=service, verificationSid=started["sid"], code=code)
    assert checked["status"] == "approved"


def test_whatsapp_texts_come_from_verifys_whatsapp_sender(verify, phone):
    service = verify.service()
    verify.start(service, "+14155550146", channel="whatsapp")
    (text,) = phone.inbox("whatsapp:+14155550146")
    assert text["from"] == f"whatsapp:{SENDER}"
    code = re.match(r"\*(\d+)\* is your verification code", text["body"]).group(1)
    assert verify.check(service, code, To="+14155550146").json()["status"] == "approved"


def test_texts_carry_the_services_options(verify, phone):
    service = verify.service(FriendlyName="Shop", CodeLength="4", DoNotShareWarningEnabled="true",
                             CustomCodeEnabled="true")
    verify.start(service, "+14155550147", AppHash="He42w354ol9", CustomFriendlyName="Shop Deluxe")
    (text,) = phone.inbox("+14155550147")
    code = CODE_RE.search(text["body"]).group(1)
    assert len(code) == 4
    assert text["body"] == (f"<#> Your Shop Deluxe verification code is: {code}. Don\u2019t share this code with "
                            "anyone; our employees will never ask for the code He42w354ol9")
    verify.start(service, "+14155550148", CustomCode="ab12cd")
    assert CODE_RE.search(phone.inbox("+14155550148")[0]["body"]).group(1) == "ab12cd"
    assert verify.check(service, "ab12cd", To="+14155550148").json()["status"] == "approved"


# --- landlines, channels, pinned codes -----------------------------------------------------------------

def test_a_service_that_skips_landlines_refuses_to_text_them(verify, server):
    service = verify.service(LookupEnabled="true", SkipSmsToLandlines="true")
    for landline in ("+15005550012", "+442079460958"):
        assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": landline, "Channel": "sms"}),
                            403, 60205)
    assert verify.start(service, "+442079460958", channel="call")["status"] == "pending"
    mobile = verify.start(service, "+14155550149")
    assert mobile["lookup"] == {"carrier": {"error_code": None, "name": "twirl Mobile", "mobile_country_code": "001",
                                            "mobile_network_code": "01", "type": "mobile"}}
    loaded = requests.post(f"{server.url}/_twirl/fixtures", timeout=30, json={
        "lookups": [{"phone_number": "+14155550150", "line_type_intelligence": {"type": "landline"}}]})
    assert loaded.status_code == 201, loaded.text
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": "+14155550150", "Channel": "sms"}),
                        403, 60205)
    texting = verify.service()
    assert verify.start(texting, "+14155550150")["lookup"] == {}, "lookups off: no lookup, no refusal"


def test_a_fixture_pins_a_services_code_and_turns_channels_off(server, phone):
    fixture = {"verify_services": [{"sid": "VA00000000000000000000000000000017", "friendly_name": "Pinned",
                                    "code": "123456", "disabled_channels": ["call"]}]}
    loaded = requests.post(f"{server.url}/_twirl/fixtures", json=fixture, timeout=30)
    assert loaded.status_code == 201, loaded.text
    verify = Verify(server)
    service = "VA00000000000000000000000000000017"
    assert server.api.fetch(f"/verify/v2/Services/{service}")["friendly_name"] == "Pinned"
    verify.start(service, "+14155550151")
    assert inbox_code(phone, "+14155550151")[0] == "123456"
    assert verify.check(service, "123456", To="+14155550151").json()["status"] == "approved"
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": "+14155550151", "Channel": "call"}),
                        400, 60223)


# --- errors ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"Channel": "sms"},
    {"To": "4155550100", "Channel": "sms"},
    {"To": "+14155550100"},
    {"To": "+14155550100", "Channel": "sna"},
    {"To": "+14155550100", "Channel": "pigeon"},
    {"To": "not-an-email", "Channel": "email"},
    {"To": "+14155550100", "Channel": "sms", "CustomCode": "12"},
])
def test_bad_starts_are_60200(verify, data):
    service = verify.service()
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", data), 400, 60200)


def test_service_checks_and_lookups_of_the_unknown(verify):
    for data in ({"FriendlyName": "x" * 31}, {"FriendlyName": "ok", "CodeLength": "11"}, {}):
        assert_twilio_error(verify.post("/Services", data), 400, 60200)
    service = verify.service()
    assert_twilio_error(verify.check(service, "12", To="+14155550100"), 400, 60200)
    assert_twilio_error(verify.check(service, "123456"), 400, 60200)
    assert_twilio_error(verify.check(service, "123456", To="+14155550100"), 404, 20404)
    unknown = "VA" + "0" * 32
    body = assert_twilio_error(verify.post(f"/Services/{unknown}/Verifications", {"To": "+14155550100",
                                                                                  "Channel": "sms"}), 404, 20404)
    assert body["message"] == f"The requested resource /Services/{unknown} was not found"
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": "+14155550102", "Channel": "sms",
                                                                           "CustomCode": "123456"}), 400, 60200)
    assert_twilio_error(verify.post(f"/Services/{service}/Verifications", {"To": "+15005550030", "Channel": "sms"}),
                        429, 60212)


def test_verify_state_is_exported_loaded_back_and_reset(fresh_twirl, tmp_path):
    fresh = Verify(fresh_twirl)
    service = fresh.service(FriendlyName="Export", LookupEnabled="true")
    started = fresh.start(service, "+14155550152")
    fresh.start(service, "ada@example.com", channel="email")
    requests.post(f"{fresh_twirl.url}/_twirl/fixtures", timeout=30, json={
        "lookups": [{"phone_number": "+14155550153", "caller_name": {"caller_name": "Ada", "caller_type": "CONSUMER"}}]})
    exported = requests.get(f"{fresh_twirl.url}/_twirl/export", timeout=30).json()
    assert [s["sid"] for s in exported["verify_services"]] == [service]
    assert {v["sid"] for v in exported["verifications"]} >= {started["sid"]}
    assert exported["lookups"] == [{"phone_number": "+14155550153",
                                    "caller_name": {"caller_name": "Ada", "caller_type": "CONSUMER"}}]
    reset = requests.post(f"{fresh_twirl.url}/_twirl/reset", timeout=30)
    assert reset.status_code == 200
    assert fresh_twirl.api.fetch("/verify/v2/Services")["services"] == []
    assert requests.get(f"{fresh_twirl.url}/_twirl/verify/mails", timeout=30).json()["mails"] == []
    exported.pop("credentials"), exported.pop("api_keys", None)
    loaded = requests.post(f"{fresh_twirl.url}/_twirl/fixtures", json=exported, timeout=30)
    assert loaded.status_code == 201, loaded.text
    fetched = fresh_twirl.api.fetch(f"/verify/v2/Services/{service}/Verifications/{started['sid']}")
    assert fetched == started
    again = requests.get(f"{fresh_twirl.url}/_twirl/export", timeout=30).json()
    for key in ("verify_services", "verifications", "lookups"):
        assert again[key] == exported[key], key
