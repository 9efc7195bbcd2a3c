"""Both official helper libraries drive every Verify and Lookup operation twirl serves, and every answer
they get is checked against the OpenAPI documents (exact keys, types, formats, SIDs, URLs and links):
twilio-node unchanged under `twirl exec` (its requests for verify.twilio.com and lookups.twilio.com
redirected to twirl, answers carrying those hosts' URLs), twilio-python with its Verify and Lookups
domains pointed at twirl. The operations of the documents twirl does not serve answer Twilio's 404."""

import json
import re

import pytest
from twilio.rest import Client

from conftest import REPO_ROOT, run_twirl
from phone_support import Phone
from spec_check import Spec
from support import ExchangeRecorder, assert_twilio_error, refused

SPEC_DIR = REPO_ROOT.parent / "shared" / "spec"
NODE_SCRIPT = REPO_ROOT / "tests" / "py" / "clients" / "verify_every_operation.js"
VERIFY_OPERATIONS = {"CreateService", "ListService", "FetchService", "UpdateService", "DeleteService",
                     "CreateVerification", "FetchVerification", "UpdateVerification", "CreateVerificationCheck"}
LOOKUP_OPERATIONS = {"FetchPhoneNumber"}


def document(name):
    path = SPEC_DIR / name
    if not path.is_file():
        pytest.skip(f"the OpenAPI document is not at {path}")
    return Spec(path)


@pytest.fixture(scope="module")
def verify_spec():
    return document("twilio_verify_v2.json")


@pytest.fixture(scope="module")
def lookups_spec():
    return document("twilio_lookups_v2.json")


def split(exchanges, host):
    return [e for e in exchanges if e[1].startswith(host)]


def test_twilio_node_drives_every_verify_and_lookup_operation(verify_spec, lookups_spec, twilio_node, tmp_path):
    result = run_twirl("exec", "--", "node", NODE_SCRIPT, cwd=tmp_path, env={"NODE_PATH": str(twilio_node)},
                       timeout=240)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    results, exchanges = seen["results"], seen["exchanges"]

    services = results["services"]
    assert (services["codeLength"], services["renamed"], services["listed"]) == (8, "Node renamed", True)
    assert services["url"].startswith("https://verify.twilio.com/v2/Services/VA")
    assert services["removed"] is True and services["missing"] == [404, 20404]
    verification = results["verification"]
    assert (verification["status"], verification["fetched"], verification["codeLength"]) == ("pending", "pending", 8)
    assert verification["carrier"] == "mobile"
    assert verification["wrong"] == ["pending", False] and verification["right"] == ["approved", True]
    assert verification["gone"] == [404, 20404]
    assert results["second"] == {"channel": "call", "canceled": "canceled"}
    assert results["lookup"] == {"phone": "+14159929960", "national": "(415) 992-9960", "type": "mobile",
                                 "callerType": None, "risk": 0, "invalid": [False, ["TOO_LONG"]]}

    account_sid = exchanges[0][3]["account_sid"]
    covered = verify_spec.check_exchanges(split(exchanges, "https://verify.twilio.com"), "https://verify.twilio.com",
                                          account_sid)
    assert covered == VERIFY_OPERATIONS, f"not covered: {sorted(VERIFY_OPERATIONS - covered)}"
    covered = lookups_spec.check_exchanges(split(exchanges, "https://lookups.twilio.com"),
                                           "https://lookups.twilio.com", account_sid)
    assert covered == LOOKUP_OPERATIONS


def test_twilio_python_drives_every_verify_and_lookup_operation(verify_spec, lookups_spec, twirl):
    recorder = ExchangeRecorder()
    client = Client(twirl.account_sid, twirl.auth_token, http_client=recorder, environment={})
    client.verify.base_url = twirl.url + "/verify"
    client.lookups.base_url = twirl.url + "/lookups"
    verify = client.verify.v2
    phone = Phone(twirl.url)

    service = verify.services.create(friendly_name="Python", code_length=5, custom_code_enabled=True,
                                     totp_issuer="Acme", passkeys_relying_party_origins="a.example,b.example")
    assert verify.services(service.sid).fetch().totp == {"issuer": "Acme", "time_step": 30, "code_length": 6,
                                                         "skew": 1}
    assert verify.services(service.sid).update(skip_sms_to_landlines=True).skip_sms_to_landlines is True
    assert service.passkeys["relying_party"]["origins"] == ["a.example", "b.example"]
    assert [s.sid for s in verify.services.list(page_size=1, limit=5)] == [service.sid]
    s = verify.services(service.sid)

    started = s.verifications.create(to="+14155550161", channel="sms")
    code = re.search(r"code is: (\d+)", phone.inbox("+14155550161")[-1]["body"]).group(1)
    assert len(code) == 5 and s.verifications(started.sid).fetch().status == "pending"
    assert s.verification_checks.create(to="+14155550161", code="x" + code).status == "pending"
    assert s.verification_checks.create(verification_sid=started.sid, code=code).status == "approved"
    assert refused(lambda: s.verification_checks.create(verification_sid=started.sid, code=code)) == (404, 20404)
    custom = s.verifications.create(to="ada@example.com", channel="email", custom_code="4242")
    assert s.verifications(custom.sid).update(status="approved").valid is True
    assert refused(lambda: s.verifications.create(to="+15005550012", channel="sms")) == (403, 60205)

    number = client.lookups.v2.phone_numbers("07400 123456").fetch(country_code="GB",
                                                                    fields="line_type_intelligence,pre_fill")
    assert (number.phone_number, number.national_format, number.country_code) == ("+447400123456",
                                                                                  "07400 123456", "GB")
    assert number.line_type_intelligence["type"] == "mobile" and number.pre_fill["country_code"] == "GB"
    every = ",".join(["caller_name", "sim_swap", "call_forwarding", "line_status", "line_type_intelligence",
                      "identity_match", "reassigned_number", "sms_pumping_risk", "phone_number_quality_score",
                      "pre_fill", "validation"])
    full = client.lookups.v2.phone_numbers("+15005550012").fetch(fields=every, last_verified_date="20240101")
    assert full.line_type_intelligence["type"] == "landline"
    assert full.reassigned_number["last_verified_date"] == "20240101"
    verify.services(service.sid).delete()

    covered = verify_spec.check_exchanges(split(recorder.exchanges, twirl.url + "/verify"), twirl.url + "/verify",
                                          twirl.account_sid)
    assert covered == VERIFY_OPERATIONS, f"not covered: {sorted(VERIFY_OPERATIONS - covered)}"
    covered = lookups_spec.check_exchanges(split(recorder.exchanges, twirl.url + "/lookups"),
                                           twirl.url + "/lookups", twirl.account_sid)
    assert covered == LOOKUP_OPERATIONS


def sample_path(template):
    return re.sub(r"\{([^}]+)\}", lambda m: "VA" + "0" * 32 if "Service" in m.group(1) else "x1", template)


def test_operations_twirl_does_not_serve_answer_twilios_404(verify_spec, lookups_spec, twirl):
    for spec, mount, served in ((verify_spec, "/verify", VERIFY_OPERATIONS), (lookups_spec, "/lookups",
                                                                               LOOKUP_OPERATIONS)):
        for operation in spec.operations.values():
            if operation.id in served:
                continue
            response = twirl.api.request(operation.method, mount + sample_path(operation.path))
            assert_twilio_error(response, 404, 20404)
