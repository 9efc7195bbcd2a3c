"""Messaging offline, through the real binary and real workers: a live project whose functions
answer texts with TwiML and send texts with `context.getTwilioClient()`, driven by simulated
handsets through `/_twirl/phone/messages`; the webhook requests twirl makes (parameters, headers,
signatures checked with twilio-python's RequestValidator); status callbacks; alerts for failing
webhooks; Twilio's magic numbers; scheduling on the emulator's clock; export and reset."""

import calendar
import time

import pytest
import requests

from conftest import running_project_server
from phone_support import Phone, WebhookRecorder
from support import assert_status, assert_twilio_error, write_function_project

HANDSET = "+14155550100"

FUNCTIONS = {
    "sms.protected": """
exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  twiml.message(`Echo: ${event.Body}`);
  callback(null, twiml);
};""",
    "media": """
exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  const message = twiml.message();
  message.body('a picture');
  message.media('https://example.com/cat.png');
  callback(null, twiml);
};""",
    "multi": """
exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  twiml.message('first');
  twiml.message({ to: '+14155550199', from: event.To, action: '/status-sink' }, 'second');
  callback(null, twiml);
};""",
    "status-sink": """
exports.handler = (context, event, callback) => {
  console.log(`status ${event.MessageSid} ${event.MessageStatus}`);
  callback(null, '');
};""",
    "redirect": """
exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  twiml.redirect('/sms');
  twiml.message('never sent');
  callback(null, twiml);
};""",
    "loop": """
exports.handler = (context, event, callback) => {
  const twiml = new Twilio.twiml.MessagingResponse();
  twiml.redirect('/loop');
  callback(null, twiml);
};""",
    "plain": """
exports.handler = (context, event, callback) => {
  const response = new Twilio.Response();
  response.appendHeader('Content-Type', 'text/plain');
  response.setBody('plain reply');
  callback(null, response);
};""",
    "empty": """
exports.handler = (context, event, callback) => {
  callback(null, new Twilio.twiml.MessagingResponse());
};""",
    "json": """
exports.handler = (context, event, callback) => callback(null, { ok: true });""",
    "boom": """
exports.handler = () => { throw new Error('boom'); };""",
    "malformed": """
exports.handler = (context, event, callback) => {
  const response = new Twilio.Response();
  response.appendHeader('Content-Type', 'text/xml');
  response.setBody('<Response><Message>unclosed');
  callback(null, response);
};""",
    "send": """
exports.handler = async (context, event, callback) => {
  const options = event.region ? { region: event.region, edge: event.edge } : {};
  const client = event.direct
    ? require('twilio')(context.ACCOUNT_SID, context.AUTH_TOKEN, options)
    : context.getTwilioClient(options);
  try {
    const message = await client.messages.create({
      to: event.to, from: event.from, body: event.body,
      ...(event.callback ? { statusCallback: event.callback } : {}),
    });
    callback(null, { sid: message.sid, status: message.status, direction: message.direction });
  } catch (error) {
    callback(null, { code: error.code, status: error.status, message: error.message });
  }
};""",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    project = write_function_project(tmp_path_factory.mktemp("messaging-project"), FUNCTIONS)
    yield from running_project_server(tmp_path_factory.mktemp("twirl"), project)


@pytest.fixture(scope="module")
def client(server):
    return server.client()


@pytest.fixture(scope="module")
def phone(server):
    return Phone(server.url)


@pytest.fixture
def recorder():
    recorder = WebhookRecorder()
    yield recorder
    recorder.close()


def live_domain(server):
    response = requests.get(f"{server.url}/_twirl/live", timeout=30)
    assert_status(response, 200)
    return response.json()["domain_name"]


def buy(client, **config):
    """A new number (the first free one in area code 206) configured with `config`."""
    return client.incoming_phone_numbers.create(area_code="206", **config)


def test_a_text_gets_the_functions_reply_in_the_handsets_inbox(server, client, phone):
    domain = live_domain(server)
    for url in ["/sms", f"https://{domain}/sms"]:
        number = buy(client, sms_url=url)
        turn = phone.text(number.phone_number, "hi there")
        assert turn["alerts"] == []
        assert turn["message"]["direction"] == "inbound"
        assert turn["message"]["status"] == "received"
        assert turn["webhook"]["status"] == 200, turn
        assert turn["webhook"]["method"] == "POST"
        (reply,) = turn["replies"]
        assert (reply["body"], reply["direction"], reply["status"]) == ("Echo: hi there", "outbound-reply", "delivered")
        assert (reply["from"], reply["to"]) == (number.phone_number, HANDSET)
        assert reply["sid"] in [m["sid"] for m in phone.inbox(HANDSET)]
        fetched = client.messages(reply["sid"]).fetch()
        assert fetched.body == "Echo: hi there"


def test_the_webhook_carries_twilios_parameters_headers_and_a_valid_signature(server, client, phone, recorder):
    number = buy(client, sms_url=recorder.url("/hook"))
    turn = phone.text(number.phone_number, "params please")
    (hook,) = recorder.received("/hook")
    assert hook.method == "POST"
    assert hook.signature_valid(server.auth_token)
    assert not hook.signature_valid("0" * 32)
    params = hook.params()
    assert set(params) == {
        "ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid", "FromState",
        "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip", "NumSegments", "ReferralNumMedia",
        "MessageSid", "AccountSid", "From", "ApiVersion",
    }
    sid = turn["message"]["sid"]
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == sid
    assert (params["From"], params["To"], params["Body"]) == (HANDSET, number.phone_number, "params please")
    assert (params["SmsStatus"], params["NumMedia"], params["NumSegments"]) == ("received", "0", "1")
    assert (params["AccountSid"], params["ApiVersion"], params["FromCountry"]) == (server.account_sid, "2010-04-01", "US")
    assert hook.headers["content-type"] == "application/x-www-form-urlencoded"
    assert hook.headers["user-agent"] == "TwilioProxy/1.1"
    assert hook.headers["x-home-region"] == "us1"
    assert len(hook.headers["i-twilio-idempotency-token"]) == 36

    client.incoming_phone_numbers(number.sid).update(sms_method="GET", sms_url=recorder.url("/get-hook?x=1"))
    phone.text(number.phone_number, "by GET", media=["https://example.com/a.jpg"])
    (hook,) = recorder.received("/get-hook")
    assert hook.method == "GET" and hook.form == []
    assert hook.signature_valid(server.auth_token)
    params = hook.params()
    assert params["x"] == "1" and params["Body"] == "by GET"
    assert (params["NumMedia"], params["MediaUrl0"], params["MediaContentType0"]) == (
        "1", "https://example.com/a.jpg", "image/jpeg")


def test_media_several_messages_and_action_callbacks(server, client, phone):
    media_number = buy(client, sms_url="/media")
    (reply,) = phone.text(media_number.phone_number, "send a picture")["replies"]
    assert reply["num_media"] == "1" and reply["sid"].startswith("MM")
    (media,) = client.messages(reply["sid"]).media.list()
    assert media.content_type == "image/png"

    multi = buy(client, sms_url="/multi")
    turn = phone.text(multi.phone_number, "two please")
    first, second = turn["replies"]
    assert (first["body"], first["to"]) == ("first", HANDSET)
    assert (second["body"], second["to"], second["from"]) == ("second", "+14155550199", multi.phone_number)
    detail = phone.wait_for_status(second["sid"], {"delivered"})
    callbacks = [e for e in detail["events"] if e.get("callback_url")]
    assert [e["status"] for e in callbacks] == ["sending", "sent", "delivered"]
    assert all(e["callback_status"] == 200 for e in callbacks), callbacks
    assert callbacks[0]["callback_url"].endswith("/status-sink")


def test_redirects_plain_text_and_empty_answers(server, client, phone):
    redirect = buy(client, sms_url="/redirect")
    (reply,) = phone.text(redirect.phone_number, "via redirect")["replies"]
    assert reply["body"] == "Echo: via redirect"

    plain = buy(client, sms_url="/plain")
    (reply,) = phone.text(plain.phone_number, "plain?")["replies"]
    assert reply["body"] == "plain reply"

    empty = buy(client, sms_url="/empty")
    turn = phone.text(empty.phone_number, "silence")
    assert (turn["replies"], turn["alerts"]) == ([], [])

    unset = buy(client)
    turn = phone.text(unset.phone_number, "anyone?")
    assert turn["webhook"] is None and turn["replies"] == []
    assert turn["message"]["status"] == "received"

    loop = buy(client, sms_url="/loop")
    (alert,) = phone.text(loop.phone_number, "round and round")["alerts"]
    assert alert["error_code"] == "14106"


def test_failing_webhooks_raise_twilios_alerts_and_monitor_lists_them(server, client, phone, recorder):
    recorder.answer("/down", status=500, body="oops", content_type="text/plain")
    cases = {
        "/json": "12300",
        "/boom": "82002",
        "/malformed": "12100",
        recorder.url("/down"): "11200",
        "http://127.0.0.1:9/closed": "11205",
        "https://example.com/sms": "11205",
    }
    raised = {}
    for url, code in cases.items():
        number = buy(client, sms_url=url)
        turn = phone.text(number.phone_number, "fail")
        assert turn["replies"] == [], url
        (alert,) = turn["alerts"]
        assert alert["error_code"] == code, (url, alert)
        assert alert["resource_sid"] == turn["message"]["sid"]
        assert alert["log_level"] == "error"
        assert alert["request_url"].endswith(url.split("//", 1)[-1].split("/", 1)[-1]), alert
        raised[alert["sid"]] = code
    listed = server.api.fetch("/monitor/v1/Alerts?PageSize=100")
    assert set(listed) == {"alerts", "meta"} and listed["meta"]["key"] == "alerts"
    by_sid = {a["sid"]: a for a in listed["alerts"]}
    summary_keys = {"account_sid", "alert_text", "api_version", "date_created", "date_generated", "date_updated",
                    "error_code", "log_level", "more_info", "request_method", "request_url", "resource_sid",
                    "service_sid", "sid", "url"}
    for sid, code in raised.items():
        assert set(by_sid[sid]) == summary_keys
        assert by_sid[sid]["error_code"] == code
        assert by_sid[sid]["url"] == f"{server.url}/monitor/v1/Alerts/{sid}"
        full = server.api.fetch(f"/monitor/v1/Alerts/{sid}")
        assert set(full) == summary_keys | {"request_variables", "request_headers", "response_body", "response_headers"}
    assert server.api.fetch(f"/monitor/v1/Alerts?LogLevel=warning")["alerts"] == []
    assert_twilio_error(server.api.get("/monitor/v1/Alerts/NO" + "0" * 32), 404, 20404)
    via_host = requests.get(f"{server.url}/v1/Alerts", headers={"Host": "monitor.twilio.com"},
                            auth=(server.account_sid, server.auth_token), timeout=30)
    assert_status(via_host, 200)
    assert via_host.json()["meta"]["url"].startswith("https://monitor.twilio.com/v1/Alerts")


def test_the_fallback_url_answers_when_the_primary_fails(server, client, phone, recorder):
    recorder.answer("/primary", status=503, body="down", content_type="text/plain")
    recorder.answer("/fallback", body="<Response><Message>from the fallback</Message></Response>")
    number = buy(client, sms_url=recorder.url("/primary"), sms_fallback_url=recorder.url("/fallback"))
    turn = phone.text(number.phone_number, "anyone?")
    (alert,) = turn["alerts"]
    assert alert["error_code"] == "11200"
    (reply,) = turn["replies"]
    assert reply["body"] == "from the fallback"
    (fallback,) = recorder.received("/fallback")
    assert fallback.signature_valid(server.auth_token)
    params = fallback.params()
    assert params["ErrorCode"] == "11200"
    assert params["ErrorUrl"] == recorder.url("/primary")


def test_a_webhook_that_does_not_answer_within_15_seconds_is_11205(server, client, phone, recorder):
    recorder.answer("/slow", delay=16, body="<Response><Message>too late</Message></Response>")
    number = buy(client, sms_url=recorder.url("/slow"))
    started = time.monotonic()
    turn = phone.text(number.phone_number, "are you there?")
    assert time.monotonic() - started >= 15
    (alert,) = turn["alerts"]
    assert alert["error_code"] == "11205"
    assert turn["replies"] == []


def invoke_send(server, **params):
    response = requests.post(f"{server.url}/send", data=params, timeout=60)
    assert_status(response, 200)
    return response.json()


def test_functions_send_texts_with_status_callbacks_signed(server, client, phone, recorder):
    number = buy(client)
    for extra in [{}, {"region": "ie1", "edge": "dublin"}, {"direct": "1"}]:
        handset = "+14155550111"
        sent = invoke_send(server, to=handset, body=f"from a function {extra}", callback=recorder.url("/status"),
                           **{"from": number.phone_number}, **extra)
        assert (sent["status"], sent["direction"]) == ("queued", "outbound-api"), sent
        callbacks = [r for r in recorder.wait_for("/status", 3) if r.params()["MessageSid"] == sent["sid"]]
        assert [c.params()["MessageStatus"] for c in callbacks] == ["sending", "sent", "delivered"]
        for callback in callbacks:
            assert callback.signature_valid(server.auth_token)
            params = callback.params()
            assert set(params) == {"MessageSid", "SmsSid", "AccountSid", "From", "To", "MessageStatus",
                                   "SmsStatus", "ApiVersion"}
            assert (params["From"], params["To"], params["SmsStatus"]) == (number.phone_number, handset,
                                                                             params["MessageStatus"])
        recorder.requests.clear()
        assert sent["sid"] in [m["sid"] for m in phone.inbox(handset)]


def test_function_errors_come_back_as_twilio_errors(server, client):
    number = buy(client)
    refused = invoke_send(server, to="+15005550001", body="x", **{"from": number.phone_number})
    assert (refused["code"], refused["status"]) == (21211, 400)
    refused = invoke_send(server, to=HANDSET, body="x", **{"from": "+19995550100"})
    assert (refused["code"], refused["status"]) == (21606, 400)


def api_error(server, path, data):
    return requests.post(f"{server.url}{path}", data=data, auth=(server.account_sid, server.auth_token), timeout=30)


def test_create_errors_and_magic_numbers(server, client):
    path = f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"
    valid = "+15005550006"
    cases = [
        ({"Body": "x", "From": valid}, 21604),
        ({"To": "not a number", "Body": "x", "From": valid}, 21211),
        ({"To": HANDSET, "Body": "x"}, 21603),
        ({"To": HANDSET, "From": valid}, 21602),
        ({"To": HANDSET, "From": valid, "Body": "x" * 1601}, 21617),
        ({"To": HANDSET, "From": "+15005550001", "Body": "x"}, 21212),
        ({"To": HANDSET, "From": "+15005550007", "Body": "x"}, 21606),
        ({"To": HANDSET, "From": "+15005550008", "Body": "x"}, 21611),
        ({"To": HANDSET, "From": "+16665550100", "Body": "x"}, 21606),
        ({"To": "+15005550001", "From": valid, "Body": "x"}, 21211),
        ({"To": "+15005550002", "From": valid, "Body": "x"}, 21612),
        ({"To": "+15005550003", "From": valid, "Body": "x"}, 21408),
        ({"To": "+15005550004", "From": valid, "Body": "x"}, 21610),
        ({"To": "+15005550009", "From": valid, "Body": "x"}, 21614),
        ({"To": HANDSET, "From": valid, "Body": "x", "StatusCallback": "not a url"}, 21609),
        ({"To": HANDSET, "From": valid, "Body": "x", "MediaUrl": [f"https://e.com/{i}.png" for i in range(11)]}, 21623),
    ]
    before = len(client.messages.list())
    for data, code in cases:
        assert_twilio_error(api_error(server, path, data), 400, code)
    assert len(client.messages.list()) == before, "a refused message was stored"
    ok = client.messages.create(to=HANDSET, from_=valid, body="magic sender")
    assert ok.status == "queued"

    numbers = f"/2010-04-01/Accounts/{server.account_sid}/IncomingPhoneNumbers.json"
    for data, code in [({"PhoneNumber": "+15005550000"}, 21422), ({"PhoneNumber": "+15005550001"}, 21421),
                       ({"AreaCode": "533"}, 21452), ({"PhoneNumber": "+15005550006", "SmsUrl": "ftp://x"}, 21402),
                       ({"PhoneNumber": "+15005550006", "SmsMethod": "PUT"}, 21403)]:
        assert_twilio_error(api_error(server, numbers, data), 400, code)
    bought = client.incoming_phone_numbers.create(phone_number="+15005550006", voice_url="https://x.twil.io/v",
                                                  friendly_name="magic")
    assert (bought.phone_number, bought.voice_url, bought.friendly_name) == ("+15005550006", "https://x.twil.io/v",
                                                                             "magic")
    assert_twilio_error(api_error(server, numbers, {"PhoneNumber": "+15005550006"}), 400, 21422)
    client.incoming_phone_numbers(bought.sid).delete()


def test_failing_handsets_end_undelivered_or_failed(server, client, phone):
    number = buy(client)
    outcomes = {"+15005550010": ("undelivered", 30003), "+15005550011": ("undelivered", 30005),
                "+15005550012": ("undelivered", 30006), "+15005550013": ("failed", 30008)}
    for handset, (status, code) in outcomes.items():
        message = client.messages.create(to=handset, from_=number.phone_number, body="lost")
        detail = phone.wait_for_status(message.sid, {status})
        assert (detail["message"]["status"], detail["message"]["error_code"]) == (status, code)
        assert detail["message"]["error_message"]
        assert phone.inbox(handset) == []


def test_scheduled_messages_wait_for_the_clock_and_can_be_canceled(server, client, phone):
    number = buy(client)
    service = "MG" + "1" * 32
    iso = "%Y-%m-%dT%H:%M:%SZ"
    now = calendar.timegm(time.strptime(requests.get(f"{server.url}/_twirl/clock", timeout=30).json()["now"], iso))
    later = time.strftime(iso, time.gmtime(now + 3600))
    scheduled = client.messages.create(to=HANDSET, messaging_service_sid=service, body="later", schedule_type="fixed",
                                       send_at=later)
    canceled = client.messages.create(to=HANDSET, messaging_service_sid=service, body="never", schedule_type="fixed",
                                      send_at=later)
    immediate = client.messages.create(to=HANDSET, messaging_service_sid=service, body="now")
    assert (scheduled.status, immediate.status) == ("scheduled", "accepted")
    assert scheduled.from_ in [n.phone_number for n in client.incoming_phone_numbers.list()]
    assert client.messages(canceled.sid).update(status="canceled").status == "canceled"
    assert phone.wait_for_status(immediate.sid, {"delivered"})["message"]["status"] == "delivered"
    time.sleep(0.2)
    assert client.messages(scheduled.sid).fetch().status == "scheduled"
    server.api.advance_clock(7200)
    detail = phone.wait_for_status(scheduled.sid, {"delivered"})
    assert [e["status"] for e in detail["events"]] == ["scheduled", "queued", "sending", "sent", "delivered"]
    assert client.messages(canceled.sid).fetch().status == "canceled"
    path = f"/2010-04-01/Accounts/{server.account_sid}/Messages/{scheduled.sid}.json"
    assert_twilio_error(api_error(server, path, {"Status": "canceled"}), 400, 30409)


def test_redact_delete_and_media(server, client, phone):
    number = buy(client)
    message = client.messages.create(to=HANDSET, from_=number.phone_number, body="secret",
                                     media_url=["https://example.com/x.gif", "https://example.com/y.png"])
    phone.wait_for_status(message.sid, {"delivered"})
    assert client.messages(message.sid).update(body="").body == ""
    media = client.messages(message.sid).media.list()
    assert sorted(m.content_type for m in media) == ["image/gif", "image/png"]
    assert client.messages(message.sid).media(media[0].sid).fetch().parent_sid == message.sid
    client.messages(message.sid).media(media[0].sid).delete()
    assert len(client.messages(message.sid).media.list()) == 1
    client.messages(message.sid).delete()
    assert_twilio_error(server.api.get(f"/2010-04-01/Accounts/{server.account_sid}/Messages/{message.sid}.json"),
                        404, 20404)


def test_another_accounts_path_is_not_found(server):
    other = "AC" + "9" * 32
    response = server.api.get(f"/2010-04-01/Accounts/{other}/Messages.json")
    assert_twilio_error(response, 404, 20404)


def test_export_and_reset_cover_numbers_and_messages(server, client, phone):
    number = buy(client, sms_url="/sms", friendly_name="exported")
    turn = phone.text(number.phone_number, "keep me")
    exported = requests.get(f"{server.url}/_twirl/export", timeout=30).json()
    assert number.sid in [n["sid"] for n in exported["phone_numbers"]]
    (record,) = [m for m in exported["messages"] if m["sid"] == turn["message"]["sid"]]
    assert (record["body"], record["status"], record["direction"]) == ("keep me", "received", "inbound")
    response = requests.post(f"{server.url}/_twirl/reset", timeout=60)
    assert_status(response, 200)
    assert number.sid not in [n.sid for n in client.incoming_phone_numbers.list()]
    assert client.messages.list() == []
    loaded = requests.post(f"{server.url}/_twirl/fixtures", json={
        "phone_numbers": [n for n in exported["phone_numbers"] if n["sid"] == number.sid],
        "messages": [record],
    }, timeout=60)
    assert_status(loaded, 201)
    again = client.incoming_phone_numbers(number.sid).fetch()
    assert (again.friendly_name, again.sms_url) == ("exported", "/sms")
    assert client.messages(record["sid"]).fetch().body == "keep me"
