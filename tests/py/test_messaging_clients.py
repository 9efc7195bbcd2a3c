"""Both official helper libraries drive every operation of the Messages, Media and IncomingPhoneNumbers
APIs, and every answer they get is checked against the 2010 API's OpenAPI document (exact keys, RFC 2822
dates, relative URIs, enums): twilio-node 5 and 6 unchanged under `twirl exec` (their requests for
api.twilio.com redirected to twirl), twilio-python 9 with its API domain pointed at twirl."""

import json

import pytest
from twilio.rest import Client

from conftest import REPO_ROOT, run_twirl, twilio_node_modules
from phone_support import Phone
from spec_check import Spec
from support import ExchangeRecorder, refused

SPEC_PATH = REPO_ROOT.parent / "shared" / "spec" / "twilio_api_v2010_subset.json"
NODE_SCRIPT = REPO_ROOT / "tests" / "py" / "clients" / "messaging_every_operation.js"
MESSAGING_OPERATIONS = {
    "CreateMessage", "ListMessage", "FetchMessage", "UpdateMessage", "DeleteMessage",
    "ListMedia", "FetchMedia", "DeleteMedia",
    "CreateIncomingPhoneNumber", "ListIncomingPhoneNumber", "FetchIncomingPhoneNumber",
    "UpdateIncomingPhoneNumber", "DeleteIncomingPhoneNumber",
}
HANDSET = "+14155550142"


@pytest.fixture(scope="module")
def spec():
    assert SPEC_PATH.is_file(), f"the 2010 API's OpenAPI document is not at {SPEC_PATH}"
    return Spec(SPEC_PATH)


@pytest.mark.parametrize("major", [5, 6])
def test_twilio_node_drives_every_messaging_operation(spec, major, tmp_path):
    modules = twilio_node_modules(major)
    version = json.loads((modules / "twilio" / "package.json").read_text())["version"]
    assert version.startswith(f"{major}."), version
    result = run_twirl("exec", "--", "node", NODE_SCRIPT, cwd=tmp_path, env={"NODE_PATH": str(modules)},
                       timeout=240)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    output = json.loads(result.stdout.strip().splitlines()[-1])
    seen, exchanges = output["seen"], output["exchanges"]

    assert seen["areaNumber"].startswith("+1312555")
    assert "+12065550177" in seen["filtered"]
    assert seen["fetchedNumber"] == ["/sms", "node"]
    assert seen["updatedNumber"] == ["GET", "http://localhost:9/fallback"]
    assert seen["badUrl"] == [400, 21402]
    assert seen["sent"] == ["queued", "outbound-api", "1"]
    assert seen["media"] == [2, "image/png", 1]
    assert len(seen["toHandset"]) == 2, "pages of one were not followed to the end"
    assert seen["fromNumber"] >= 1
    assert seen["redacted"] == ""
    assert seen["refusedTo"] == [400, 21614]
    assert seen["scheduled"] == ["scheduled", "canceled"]
    assert len(seen["numbersLeft"]) == 1

    account_sid = exchanges[0][3]["account_sid"]
    assert all(url.startswith("https://api.twilio.com/2010-04-01/") for _, url, _, _ in exchanges)
    covered = spec.check_exchanges(exchanges, "https://api.twilio.com", account_sid)
    assert covered >= MESSAGING_OPERATIONS, f"not covered: {sorted(MESSAGING_OPERATIONS - covered)}"


def test_twilio_python_drives_every_messaging_operation(spec, twirl):
    recorder = ExchangeRecorder()
    client = Client(twirl.account_sid, twirl.auth_token, http_client=recorder, environment={})
    client.api.base_url = twirl.url
    phone = Phone(twirl.url)

    bought = client.incoming_phone_numbers.create(phone_number="+12065550178", sms_url="/sms", friendly_name="py")
    by_area = client.incoming_phone_numbers.create(area_code="312")
    assert by_area.phone_number.startswith("+1312555")
    assert [n.sid for n in client.incoming_phone_numbers.list(phone_number="5550178")] == [bought.sid]
    assert [n.sid for n in client.incoming_phone_numbers.list(friendly_name="py")] == [bought.sid]
    assert client.incoming_phone_numbers(bought.sid).fetch().sms_url == "/sms"
    updated = client.incoming_phone_numbers(bought.sid).update(voice_url="https://a-1234.twil.io/v", sms_method="GET")
    assert (updated.voice_url, updated.sms_method) == ("https://a-1234.twil.io/v", "GET")
    assert refused(lambda: client.incoming_phone_numbers(bought.sid).update(sms_method="PUT")) == (400, 21403)

    sent = client.messages.create(to=HANDSET, from_=bought.phone_number, body="from python",
                                  media_url=["https://example.com/c.jpg"])
    assert (sent.status, sent.num_media, sent.sid[:2]) == ("queued", "1", "MM")
    phone.wait_for_status(sent.sid, {"delivered"})
    assert client.messages(sent.sid).fetch().status == "delivered"
    (media,) = client.messages(sent.sid).media.list()
    assert client.messages(sent.sid).media(media.sid).fetch().content_type == "image/jpeg"
    client.messages(sent.sid).media(media.sid).delete()
    for index in range(3):
        client.messages.create(to=HANDSET, from_=bought.phone_number, body=f"paged {index}")
    paged = list(client.messages.stream(to=HANDSET, page_size=2))
    assert len(paged) >= 4, "the pages' next_page_uri was not followed"
    assert client.messages.list(from_=bought.phone_number, date_sent=sent.date_created.date())
    assert client.messages(sent.sid).update(body="").body == ""
    assert refused(lambda: client.messages.create(to="+15005550003", from_=bought.phone_number, body="x")) == \
        (400, 21408)
    client.messages(sent.sid).delete()
    client.incoming_phone_numbers(by_area.sid).delete()

    covered = spec.check_exchanges(recorder.exchanges, twirl.url, twirl.account_sid)
    assert covered >= MESSAGING_OPERATIONS, f"not covered: {sorted(MESSAGING_OPERATIONS - covered)}"
