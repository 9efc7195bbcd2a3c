"""Voice through the real binary and real workers: an IVR project (fixtures/voice-project) served
live, called by handsets through the control endpoints key by key, and placed by the Calls API
(twilio-python, and twilio-node inside a function). Every function says what it received in a
<Say language="x-params">, so each webhook's parameters and signature are read back from the
transcript and checked with twilio-python's RequestValidator; status callbacks go to a loopback
server here and are checked the same way. Calls and Recordings are checked against the spec."""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.request_validator import RequestValidator

from conftest import REPO_ROOT, running_project_server
from spec_check import ResponseChecker, Spec
from support import assert_twilio_error

PROJECT = REPO_ROOT / "fixtures" / "voice-project"
SPEC = REPO_ROOT.parent / "shared" / "spec" / "twilio_api_v2010_subset.json"
MENU, SUPPORT = "+12065550150", "+12065550151"
CALLER, AGENT = "+14155550123", "+14155550199"


class Recorder(ThreadingHTTPServer):
    """A loopback web app receiving status and transcription callbacks."""

    def __init__(self):
        self.requests = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                recorder.requests.append({"path": self.path, "form": form,
                                          "signature": self.headers.get("X-Twilio-Signature")})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def at(self, path):
        return [r for r in self.requests if r["path"] == path]


@pytest.fixture(scope="module")
def recorder():
    server = Recorder()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def voice(tmp_path_factory, recorder):
    project = tmp_path_factory.mktemp("voice") / "project"
    shutil.copytree(PROJECT, project)
    (project / ".env").write_text(f"SUPPORT_NUMBER={SUPPORT}\nAGENT_HANDSET={AGENT}\n"
                                  f"TRANSCRIBE_URL={recorder.url}/transcribed\n")
    yield from running_project_server(tmp_path_factory.mktemp("voice-server"), project)


@pytest.fixture(scope="module")
def domain(voice):
    services = voice.api.fetch("/v1/Services")["services"]
    (service,) = [s for s in services if s["unique_name"] == "voice-ivr"]
    (environment,) = voice.api.fetch(f"/v1/Services/{service['sid']}/Environments")["environments"]
    return environment["domain_name"]


@pytest.fixture(scope="module")
def client(voice):
    client = voice.client()
    client.api.base_url = voice.url
    return client


@pytest.fixture(scope="module")
def numbers(client, domain):
    menu = client.incoming_phone_numbers.create(phone_number=MENU, voice_url=f"https://{domain}/ivr")
    support = client.incoming_phone_numbers.create(phone_number=SUPPORT, voice_url=f"https://{domain}/support")
    return {"menu": menu, "support": support}


@pytest.fixture(scope="module")
def spec(voice):
    return ResponseChecker(Spec(SPEC), voice.url, voice.account_sid)


class Phone:
    """A handset driven through /_twirl/phone/calls…"""

    def __init__(self, server):
        self.server = server

    def post(self, path, data=None, status=200):
        response = requests.post(f"{self.server.url}/_twirl/phone/{path}", data=data or {}, timeout=30)
        assert response.status_code == status, response.text
        return response.json()

    def call(self, to, from_=CALLER):
        return self.post("calls", {"From": from_, "To": to}, status=201)

    def press(self, state, digits):
        return self.post(f"calls/{state['call']['sid']}/input", {"Digits": digits})

    def say(self, state, words):
        return self.post(f"calls/{state['call']['sid']}/input", {"SpeechResult": words})

    def silence(self, state):
        return self.post(f"calls/{state['call']['sid']}/input")

    def hangup(self, sid):
        return self.post(f"calls/{sid}/hangup")

    def state(self, sid):
        response = requests.get(f"{self.server.url}/_twirl/phone/calls/{sid}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def phone(voice, numbers):
    return Phone(voice)


def said(state):
    """What the caller heard (without the functions' evidence)."""
    return [line["text"] for line in state["transcript"]
            if line["verb"] == "say" and line.get("language") != "x-params"]


def evidence(state):
    """What each function received, in order: its parameters and the signature sent."""
    return [json.loads(line["text"]) for line in state["transcript"]
            if line["verb"] == "say" and line.get("language") == "x-params"]


def assert_signed(voice, url, received):
    validator = RequestValidator(voice.auth_token)
    assert validator.validate(url, received["params"], received["signature"]), (url, received)


def check_schema(spec, name, value, where="call"):
    """Checks a 2010 resource against the spec: exact keys, types, formats, enums, its `uri`."""
    spec.check_named(name, value, where)


# --- a handset calls the IVR ---------------------------------------------------------------------

def test_the_menu_answers_with_the_call_parameters_signed(phone, voice, domain):
    state = phone.call(MENU)
    assert state["call"]["status"] == "in-progress"
    assert state["call"]["direction"] == "inbound"
    assert said(state) == ["Press 1 for sales, 2 for support, 3 to leave a message, 9 to hang up."]
    assert state["awaiting"] == {"verb": "gather", "call_sid": state["call"]["sid"], "input": ["dtmf", "speech"],
                                 "num_digits": 1, "finish_on_key": "#", "timeout": 5, "speech_timeout": None}
    (received,) = evidence(state)
    params = received["params"]
    assert params["CallSid"] == state["call"]["sid"]
    assert (params["From"], params["To"], params["Caller"], params["Called"]) == (CALLER, MENU, CALLER, MENU)
    assert (params["CallStatus"], params["Direction"], params["ApiVersion"]) == ("ringing", "inbound", "2010-04-01")
    assert params["AccountSid"] == voice.account_sid
    assert params["FromCountry"] == params["ToCountry"] == "US"
    assert_signed(voice, f"https://{domain}/ivr", received)
    state = phone.press(state, "9")
    assert state["awaiting"] is None
    assert state["call"]["status"] == "completed"
    assert state["call"]["duration"] is not None
    choice = evidence(state)[1]
    assert (choice["params"]["Digits"], choice["params"]["CallStatus"]) == ("9", "in-progress")
    assert_signed(voice, f"https://{domain}/ivr-choice", choice)
    assert [e["status"] for e in state["events"]] == ["ringing", "in-progress", "completed"]
    assert [line["verb"] for line in state["transcript"]][-1] == "hangup"


def test_a_branch_redirects_back_to_the_menu_in_a_loop(phone, voice, domain):
    state = phone.call(MENU)
    for _ in range(3):
        state = phone.press(state, "1")
        assert said(state)[-2:] == ["Sales are closed.", "Press 1 for sales, 2 for support, 3 to leave a message, 9 to hang up."]
        assert state["awaiting"]["verb"] == "gather"
    redirects = [line for line in state["transcript"] if line["verb"] == "redirect"]
    assert [r["url"] for r in redirects] == [f"https://{domain}/ivr"] * 3
    # The redirected request carries the call's parameters, not the keys pressed before.
    menus = [e for e in evidence(state) if "Digits" not in e["params"]]
    assert len(menus) == 4 and all(m["params"]["CallStatus"] == "in-progress" for m in menus[1:])
    for menu in menus:
        assert_signed(voice, f"https://{domain}/ivr", menu)
    state = phone.hangup(state["call"]["sid"])
    assert state["call"]["status"] == "completed"
    assert state["transcript"][-1]["verb"] == "hangup" and state["transcript"][-1]["by"] == "caller"


def test_silence_falls_through_without_requesting_the_action(phone):
    state = phone.call(MENU)
    state = phone.silence(state)
    assert said(state)[-1] == "Goodbye."
    assert state["call"]["status"] == "completed"
    assert len(evidence(state)) == 1
    assert [line for line in state["transcript"] if line["verb"] == "input"][-1]["timeout"] is True


def test_the_finishing_key_alone_is_an_empty_result(phone):
    state = phone.call(MENU)
    assert said(phone.press(state, "#"))[-1] == "Goodbye."


def test_speech_goes_to_the_action_and_dials_a_handset_until_star(phone, voice, domain):
    state = phone.call(MENU)
    state = phone.say(state, "Agent")
    received = evidence(state)[1]["params"]
    assert (received["SpeechResult"], received["Confidence"]) == ("Agent", "0.9")
    assert "Digits" not in received
    awaiting = state["awaiting"]
    assert awaiting["verb"] == "dial" and awaiting["to"] == AGENT and awaiting["input"] == ["dtmf"]
    (leg,) = state["legs"]
    assert (leg["direction"], leg["to"], leg["from"], leg["parent_call_sid"]) == ("outbound-dial", AGENT, CALLER, state["call"]["sid"])
    assert leg["status"] == "in-progress"
    state = phone.press(state, "*")
    assert said(state)[-1] == "The dial ended: completed."
    done = evidence(state)[-1]
    assert (done["params"]["DialCallStatus"], done["params"]["DialCallSid"]) == ("completed", leg["sid"])
    assert_signed(voice, f"https://{domain}/dial-done", done)
    assert phone.state(leg["sid"])["call"]["status"] == "completed"


def test_dial_to_another_owned_number_rings_its_function(phone, voice, domain):
    state = phone.call(MENU)
    state = phone.press(state, "2")
    assert said(state)[-1] == "Support here. Press 1 if your problem is solved."
    dialed, far = state["legs"]
    assert (dialed["direction"], dialed["to"], dialed["status"]) == ("outbound-dial", SUPPORT, "in-progress")
    assert (far["direction"], far["from"], far["to"], far["status"]) == ("inbound", CALLER, SUPPORT, "in-progress")
    assert state["awaiting"]["call_sid"] == far["sid"]
    support = evidence(state)[-1]
    assert (support["params"]["CallSid"], support["params"]["Direction"]) == (far["sid"], "inbound")
    assert_signed(voice, f"https://{domain}/support", support)
    # The caller's keys reach the far end's <Gather>.
    state = phone.press(state, "1")
    assert said(state)[-2:] == ["Support got 1. Bye.", "The dial ended: completed."]
    done = evidence(state)[-1]["params"]
    assert (done["DialCallStatus"], done["DialCallSid"]) == ("completed", dialed["sid"])
    assert state["call"]["status"] == "completed"
    assert [leg["status"] for leg in state["legs"]] == ["completed", "completed"]
    assert phone.state(far["sid"])["transcript"][0]["call_sid"] == far["sid"]


def test_voicemail_records_and_transcribes(phone, voice, domain, client, recorder):
    state = phone.call(MENU)
    state = phone.press(state, "3")
    assert state["awaiting"]["verb"] == "record"
    assert state["awaiting"]["finish_on_key"] == "1234567890*#"
    state = phone.say(state, "Please call me back about my order")
    assert said(state)[-1] == "Saved 3 seconds."
    done = evidence(state)[-1]
    assert_signed(voice, f"https://{domain}/voicemail-done", done)
    recording_sid = done["params"]["RecordingSid"]
    assert done["params"]["RecordingDuration"] == "3"
    assert done["params"]["RecordingUrl"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{voice.account_sid}/Recordings/{recording_sid}")
    recording = client.recordings(recording_sid).fetch()
    assert (recording.call_sid, recording.duration, recording.source) == (state["call"]["sid"], "3", "RecordVerb")
    assert [r.sid for r in client.calls(state["call"]["sid"]).recordings.list()] == [recording_sid]
    audio = requests.get(f"{voice.url}/2010-04-01/Accounts/{voice.account_sid}/Recordings/{recording_sid}.wav",
                         auth=(voice.account_sid, voice.auth_token), timeout=10)
    assert audio.headers["Content-Type"] == "audio/x-wav" and audio.content[:4] == b"RIFF"
    (transcription,) = [r for r in recorder.at("/transcribed") if r["form"]["RecordingSid"] == recording_sid]
    assert transcription["form"]["TranscriptionText"] == "Please call me back about my order"
    assert RequestValidator(voice.auth_token).validate(f"{recorder.url}/transcribed", transcription["form"],
                                                       transcription["signature"])


def test_an_empty_recording_falls_through(phone):
    state = phone.call(MENU)
    state = phone.silence(phone.press(state, "3"))
    assert said(state)[-1] == "Nothing was recorded."
    assert state["call"]["status"] == "completed"


# --- the Calls API -------------------------------------------------------------------------------

def test_a_placed_call_is_answered_by_the_handset_with_signed_status_callbacks(client, phone, voice, domain,
                                                                               recorder, spec):
    call = client.calls.create(to=AGENT, from_=MENU, url=f"https://{domain}/ivr",
                               status_callback=f"{recorder.url}/status",
                               status_callback_event=["initiated", "ringing", "answered", "completed"])
    assert call.status == "queued" and call.direction == "outbound-api"
    state = phone.state(call.sid)
    assert state["awaiting"]["verb"] == "gather"
    menu = evidence(state)[0]["params"]
    assert (menu["CallStatus"], menu["Direction"], menu["From"], menu["To"]) == ("in-progress", "outbound-api", MENU, AGENT)
    state = phone.hangup(call.sid)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed" and fetched.duration is not None
    assert fetched.start_time is not None and fetched.end_time is not None
    callbacks = [r for r in recorder.at("/status") if r["form"]["CallSid"] == call.sid]
    assert [r["form"]["CallStatus"] for r in callbacks] == ["initiated", "ringing", "in-progress", "completed"]
    assert [r["form"]["SequenceNumber"] for r in callbacks] == ["0", "1", "2", "3"]
    assert callbacks[-1]["form"]["CallDuration"] == fetched.duration
    assert all(r["form"]["CallbackSource"] == "call-progress-events" for r in callbacks)
    validator = RequestValidator(voice.auth_token)
    assert all(validator.validate(f"{recorder.url}/status", r["form"], r["signature"]) for r in callbacks)
    assert [e["callback_status"] for e in state["events"] if e["status"] != "queued"] == [204] * 4
    raw = requests.get(f"{voice.url}/2010-04-01/Accounts/{voice.account_sid}/Calls/{call.sid}.json",
                       auth=(voice.account_sid, voice.auth_token), timeout=10).json()
    check_schema(spec, "api.v2010.account.call", raw)


@pytest.mark.parametrize("to, status", [("+15005550020", "busy"), ("+15005550022", "failed")])
def test_magic_handsets_are_busy_or_fail(client, phone, to, status):
    call = client.calls.create(to=to, from_=MENU, twiml="<Response><Say>never heard</Say></Response>")
    state = phone.state(call.sid)
    assert state["call"]["status"] == status and state["call"]["duration"] == "0"
    assert not said(state)


def test_a_handset_that_does_not_answer_rings_until_canceled(client, phone):
    call = client.calls.create(to="+15005550021", from_=MENU, twiml="<Response><Say>hi</Say></Response>", timeout=30)
    state = phone.state(call.sid)
    assert state["call"]["status"] == "ringing" and state["awaiting"]["verb"] == "ringing"
    assert client.calls(call.sid).update(status="canceled").status == "canceled"


def test_a_live_call_is_redirected_then_ended_by_the_api(client, phone, domain):
    call = client.calls.create(to=AGENT, from_=MENU, url=f"https://{domain}/ivr")
    phone.state(call.sid)
    updated = client.calls(call.sid).update(twiml="<Response><Say>Moved.</Say><Gather/></Response>")
    assert updated.status == "in-progress"
    state = phone.state(call.sid)
    assert said(state)[-1] == "Moved." and state["awaiting"]["verb"] == "gather"
    assert client.calls(call.sid).update(status="completed").status == "completed"
    with pytest.raises(Exception):
        client.calls(call.sid).update(url=f"https://{domain}/ivr")
    assert_twilio_error(client.http_client.last_response, 400, 21220)
    assert client.calls(call.sid).delete() is True
    with pytest.raises(Exception):
        client.calls(call.sid).fetch()
    assert_twilio_error(client.http_client.last_response, 404, 20404)


def test_calls_are_listed_with_filters_and_pages(client, spec, voice):
    calls = client.calls.list(to=AGENT, page_size=2, limit=4)
    assert calls and all(c.to == AGENT for c in calls)
    page = requests.get(f"{voice.url}/2010-04-01/Accounts/{voice.account_sid}/Calls.json",
                        params={"To": AGENT, "PageSize": 1}, auth=(voice.account_sid, voice.auth_token),
                        timeout=10).json()
    assert page["page_size"] == 1 and len(page["calls"]) == 1
    assert page["next_page_uri"].startswith(f"/2010-04-01/Accounts/{voice.account_sid}/Calls.json?")
    check_schema(spec, "api.v2010.account.call", page["calls"][0])
    assert client.calls.list(status="busy") and all(c.status == "busy" for c in client.calls.list(status="busy"))


@pytest.mark.parametrize("data, code", [
    ({"From": MENU, "Url": "https://x.twil.io/v"}, 21201),
    ({"To": AGENT, "Url": "https://x.twil.io/v"}, 21213),
    ({"To": AGENT, "From": MENU}, 21200),
    ({"To": AGENT, "From": "+14155550000", "Url": "https://x.twil.io/v"}, 21210),
    ({"To": "+15005550002", "From": MENU, "Url": "https://x.twil.io/v"}, 21214),
    ({"To": AGENT, "From": "+15005550001", "Url": "https://x.twil.io/v"}, 21212),
])
def test_invalid_calls_get_twilios_errors(voice, data, code):
    response = requests.post(f"{voice.url}/2010-04-01/Accounts/{voice.account_sid}/Calls.json", data=data,
                             auth=(voice.account_sid, voice.auth_token), timeout=10)
    assert_twilio_error(response, 400, code)


def test_twilio_node_in_a_function_drives_every_calls_operation(voice, numbers, domain, spec):
    response = requests.get(f"{voice.url}/calls-api", params={"To": AGENT, "From": MENU, "Url": f"https://{domain}/ivr"},
                            timeout=60)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["created"] == "queued" and answer["ended"] == "completed" and answer["removed"] is True
    assert answer["redirected"] == "in-progress" and answer["sid"] in answer["listed"]
    fetched, listed = answer["results"]
    assert fetched["status"] == 200 and listed["status"] == 200
    body = lambda result: result["body"] if isinstance(result["body"], dict) else json.loads(result["body"])
    check_schema(spec, "api.v2010.account.call", body(fetched))
    for call in body(listed)["calls"]:
        check_schema(spec, "api.v2010.account.call", call)


# --- failures --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, code", [("malformed", "12100"), ("unknown", "12200"), ("json", "12300"),
                                        ("fails", "82002")])
def test_bad_twiml_ends_the_call_with_an_alert(client, phone, domain, voice, kind, code):
    number = client.incoming_phone_numbers.create(phone_number=f"+1206555{len(kind):02d}{int(code) % 97:02d}",
                                                  voice_url=f"https://{domain}/broken?kind={kind}")
    state = phone.call(number.phone_number)
    assert state["call"]["status"] == "completed"
    assert said(state)[-1] == "We are sorry, an application error has occurred. Goodbye."
    assert [a["error_code"] for a in state["alerts"]] == [code]
    alerts = requests.get(f"{voice.url}/monitor/v1/Alerts", auth=(voice.account_sid, voice.auth_token),
                          timeout=10).json()["alerts"]
    assert any(a["resource_sid"] == state["call"]["sid"] and a["error_code"] == code for a in alerts)
    if kind == "unknown":
        assert "before" in said(state) and "after" not in said(state)


def test_a_failing_voice_url_falls_back(client, phone, domain):
    number = client.incoming_phone_numbers.create(phone_number="+12065550177",
                                                  voice_url=f"https://{domain}/broken?kind=fails",
                                                  voice_fallback_url=f"https://{domain}/fallback")
    state = phone.call(number.phone_number)
    assert said(state) == ["Fallback after 82002."]
    assert [a["error_code"] for a in state["alerts"]] == ["82002"]
    assert [line["purpose"] for line in state["transcript"] if line["verb"] == "webhook"] == ["twiml", "fallback"]


def test_input_to_an_ended_call_is_refused(phone):
    state = phone.silence(phone.call(MENU))
    response = requests.post(f"{phone.server.url}/_twirl/phone/calls/{state['call']['sid']}/input",
                             data={"Digits": "1"}, timeout=10)
    assert_twilio_error(response, 409, 20409)
    response = requests.post(f"{phone.server.url}/_twirl/phone/calls/{state['call']['sid']}/input",
                             data={"Digits": "1x"}, timeout=10)
    assert_twilio_error(response, 400, 20001)


def test_calls_are_exported_and_reset(voice, phone):
    state = phone.silence(phone.call(MENU))
    exported = requests.get(f"{voice.url}/_twirl/export", timeout=30).json()
    (call,) = [c for c in exported["calls"] if c["sid"] == state["call"]["sid"]]
    assert [e["status"] for e in call["events"]] == ["ringing", "in-progress", "completed"]
    assert [line["entry"]["verb"] for line in call["transcript"]][:2] == ["webhook", "say"]
    assert exported["recordings"]
