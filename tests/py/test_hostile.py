"""Hostile input against the real binary: property-based tests (hypothesis) of the form parser,
multipart uploads, upload paths and signatures; the official OpenAPI spec driven by schemathesis;
oversize bodies, header floods, GET with a body and invalid UTF-8."""

import json
import re
import secrets
import time
import unicodedata
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from conftest import SPEC_PATH
from support import (ERROR_KEYS, assert_status, assert_twilio_error, deploy_project, unique_name,
                     write_function_project)

MIB = 1024 * 1024
# Bounded: each property runs a fixed number of examples with no shrinking deadline.
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SMALL_PROPERTY = settings(PROPERTY, max_examples=25)

FUNCTIONS = {
    "hello": "exports.handler = (context, event, callback) => callback(null, 'hello');",
    "guarded.protected": "exports.handler = (context, event, callback) => callback(null, { ok: true, event });",
}


@pytest.fixture(scope="module")
def deployed(api, tmp_path_factory):
    project = write_function_project(tmp_path_factory.mktemp("projects") / "hostile", FUNCTIONS,
                                     {"public.txt": "public"})
    return deploy_project(api, project, "hostile-project")


@pytest.fixture(scope="module")
def function_sid(api, deployed):
    return api.create(f"{deployed.service_path}/Functions", {"FriendlyName": "hostile uploads"})["sid"]


def count(api, path):
    return len(api.list_all(path))


def assert_twilio_shaped(response):
    """Either a success with a JSON body, or a 4xx Twilio error; never a 5xx."""
    context = f"{response.request.method} {response.request.url} -> {response.status_code} {response.text[:300]!r}"
    assert response.status_code < 500, context
    if response.status_code >= 400:
        assert_twilio_error(response)
    elif response.status_code != 204:
        assert response.headers.get("Content-Type", "").startswith("application/json"), context
        response.json()


# --- the form parser ---------------------------------------------------------------------------

SERVICE_KEYS = ["UniqueName", "FriendlyName", "IncludeCredentials", "UiEditable", "uniquename", "Unique Name",
                "UniqueName[]", "", "=", "&"]
texts = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["", "true", "false", "TRUE", "1", "a" * 51, "a" * 256, "valid-name", "name with spaces", "\u0000", "%zz", "+"])
form_pairs = st.lists(st.tuples(st.sampled_from(SERVICE_KEYS) | st.text(max_size=20), texts), max_size=8)


@PROPERTY
@given(pairs=form_pairs, encoding=st.sampled_from(["form", "latin-1", "raw-bytes"]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "application/x-www-form-urlencoded; charset=utf-8", "text/plain",
                                     "application/json", None]))
def test_service_create_form_bodies(api, pairs, encoding, content_type):
    before = count(api, "/v1/Services")
    if encoding == "form":
        body = urlencode(pairs).encode()
    elif encoding == "latin-1":
        body = "&".join(f"{k}={v}" for k, v in pairs).encode("latin-1", errors="replace")
    else:
        body = secrets.token_bytes(len(pairs) * 7)
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.post("/v1/Services", data=body, headers=headers)
    assert_twilio_shaped(response)
    if response.status_code == 201:
        created = response.json()
        assert created["sid"].startswith("ZS")
        assert_status(api.delete(f"/v1/Services/{created['sid']}"), 204)
    else:
        assert count(api, "/v1/Services") == before, "a refused request stored something"


@PROPERTY
@given(key=texts, value=texts, extra=form_pairs)
def test_variable_create_form_bodies(api, deployed, key, value, extra):
    path = f"{deployed.environment_path}/Variables"
    before = count(api, path)
    response = api.post(path, data=[("Key", key), ("Value", value), *extra])
    assert_twilio_shaped(response)
    if response.status_code == 201:
        variable = response.json()
        assert (variable["key"], variable["value"]) == (key, value) or \
            variable["key"] == dict([("Key", key), *extra]).get("Key", key)
        assert_status(api.delete(f"{path}/{variable['sid']}"), 204)
    else:
        assert count(api, path) == before


@SMALL_PROPERTY
@given(query=st.lists(st.tuples(st.sampled_from(["PageSize", "Page", "PageToken", "x"]) | st.text(max_size=10),
                                texts), max_size=5))
def test_list_query_strings(api, query):
    assert_twilio_shaped(api.get("/v1/Services?" + urlencode(query)))


# --- invalid UTF-8 --------------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xae"]


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=lambda b: b.hex())
def test_invalid_utf8_in_a_raw_form_body_is_a_clear_400(api, raw):
    before = count(api, "/v1/Services")
    response = api.post("/v1/Services", data=b"UniqueName=bad-" + raw + b"&FriendlyName=" + raw,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_twilio_error(response, 400)
    assert count(api, "/v1/Services") == before


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=lambda b: b.hex())
def test_percent_encoded_invalid_utf8_in_a_form_body_is_a_clear_400(api, raw):
    before = count(api, "/v1/Services")
    name = unique_name()
    response = api.post("/v1/Services", data=f"UniqueName={name}&FriendlyName=x{quote(raw)}",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    if response.status_code == 201:
        api.delete(f"/v1/Services/{response.json()['sid']}")
    assert_twilio_error(response, 400)
    assert count(api, "/v1/Services") == before


@pytest.mark.parametrize("raw", INVALID_UTF8, ids=lambda b: b.hex())
def test_invalid_utf8_in_query_strings_and_paths_is_a_clear_4xx(api, deployed, raw):
    encoded = quote(raw)
    for path in (f"/v1/Services?PageSize={encoded}", f"/v1/Services/{encoded}",
                 f"/v1/Services/ZS{encoded}/Environments"):
        assert_twilio_error(api.get(path))
    site = requests.get(f"{deployed.site_url}/{encoded}", timeout=30)
    assert 400 <= site.status_code < 500, site.status_code
    event = requests.get(f"{deployed.site_url}/hello?x={encoded}", timeout=30)
    assert event.status_code < 500


# --- multipart uploads ---------------------------------------------------------------------------

def versions_path(deployed, function_sid):
    return f"{deployed.service_path}/Functions/{function_sid}/Versions"


def multipart(parts, boundary="twirlboundary"):
    chunks = []
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        header = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            header += f"Content-Type: {content_type}\r\n"
        chunks.append(header.encode() + b"\r\n" + data + b"\r\n")
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


VALID_PARTS = [("Path", None, None, b"/uploaded"), ("Visibility", None, None, b"public"),
               ("Content", "uploaded.js", "application/javascript", b"exports.handler = () => {};")]


@PROPERTY
@given(body=st.binary(max_size=2048), boundary=st.sampled_from(["twirlboundary", "x", "", "a" * 80]))
def test_random_multipart_bodies_are_refused(api, deployed, function_sid, body, boundary):
    path = versions_path(deployed, function_sid)
    before = count(api, path)
    response = api.post(path, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_twilio_shaped(response)
    if response.status_code == 201:
        pytest.fail(f"random bytes were accepted as an upload: {body[:100]!r}")
    assert count(api, path) == before


@PROPERTY
@given(cut=st.integers(min_value=0, max_value=len(multipart(VALID_PARTS)) - 1))
def test_truncated_multipart_bodies_are_refused(api, deployed, function_sid, cut):
    path = versions_path(deployed, function_sid)
    before = count(api, path)
    body = multipart(VALID_PARTS)[:cut]
    response = api.post(path, data=body, headers={"Content-Type": "multipart/form-data; boundary=twirlboundary"})
    assert_twilio_shaped(response)
    assert response.status_code != 201, f"a body cut at {cut} bytes was accepted"
    assert count(api, path) == before


def test_whole_multipart_body_is_accepted(api, deployed, function_sid):
    response = api.post(versions_path(deployed, function_sid), data=multipart(VALID_PARTS),
                        headers={"Content-Type": "multipart/form-data; boundary=twirlboundary"})
    assert_status(response, 201)


@pytest.mark.parametrize("size, visibility", [(25 * MIB + 1, "public"), (10 * MIB + 1, "private"),
                                              (40 * MIB, "protected")])
def test_oversize_uploads_are_413_and_store_nothing(api, deployed, function_sid, size, visibility):
    asset = api.create(f"{deployed.service_path}/Assets", {"FriendlyName": f"big-{visibility}"})
    path = f"{deployed.service_path}/Assets/{asset['sid']}/Versions"
    response = api.post(path, files=[("Path", (None, "/big.bin")), ("Visibility", (None, visibility)),
                                     ("Content", ("big.bin", b"\0" * size, "application/octet-stream"))],
                        timeout=120)
    assert_twilio_error(response, 413)
    assert count(api, path) == 0


def test_oversize_text_parts_are_refused(api, deployed, function_sid):
    path = versions_path(deployed, function_sid)
    before = count(api, path)
    parts = [("Path", None, None, b"/" + b"a" * (64 * 1024))] + VALID_PARTS[1:]
    response = api.post(path, data=multipart(parts), headers={"Content-Type": "multipart/form-data; boundary=twirlboundary"})
    assert_twilio_error(response)
    assert count(api, path) == before


# --- upload paths ----------------------------------------------------------------------------------

def stored_path(path):
    """The spec's `path`: one without its leading slash is stored with one prepended."""
    return path if path.startswith("/") else "/" + path


def path_is_clean(path):
    """The documented rule for version paths."""
    if not path.startswith("/") or len(path) > 255:
        return False
    if any(c.isspace() or unicodedata.category(c) == "Cc" or c in "\\#;,?:@+&$()'\"%" for c in path):
        return False
    return path == "/" or all(seg not in ("", ".", "..") for seg in path[1:].split("/"))


path_strategy = st.one_of(
    st.text(max_size=40).map(lambda s: "/" + s),
    st.text(max_size=40),
    st.lists(st.sampled_from(["..", ".", "", "a", "%2e%2e", "b.js", "\\", "..\\x", "\u0000", "C:", "~"]),
             max_size=6).map(lambda segments: "/" + "/".join(segments)),
    st.sampled_from(["/../../etc/passwd", "/a/../../b", "/%2e%2e/x", "//etc/passwd", "/a//b", "/..",
                     "/.", "/a/.", "\\..\\x", "/a\\..\\b", "/" + "a" * 255, "/" + "a" * 254, "/ok/path.js"]),
)


@PROPERTY
@given(path=path_strategy)
def test_upload_paths_are_refused_unless_clean(api, deployed, function_sid, path):
    versions = versions_path(deployed, function_sid)
    response = api.post(versions, files=[("Path", (None, path)), ("Visibility", (None, "public")),
                                         ("Content", ("f.js", b"exports.handler = () => {};", "application/javascript"))])
    assert_twilio_shaped(response)
    if path and path_is_clean(stored_path(path)):
        assert_status(response, 201)
        assert response.json()["path"] == stored_path(path)
    else:
        assert response.status_code == 400, f"path {path!r} answered {response.status_code}"


# --- signatures -----------------------------------------------------------------------------------

signature_strategy = st.one_of(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
    st.binary(min_size=20, max_size=32).map(lambda b: __import__("base64").b64encode(b).decode()),
)
param_strategy = st.dictionaries(st.text(st.characters(codec="ascii", min_codepoint=33), min_size=1, max_size=10),
                                 st.text(st.characters(codec="utf-8"), max_size=20), max_size=5)


@PROPERTY
@given(signature=signature_strategy, params=param_strategy)
def test_random_signatures_never_pass(deployed, signature, params):
    url = f"{deployed.site_url}/guarded"
    response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    assert response.status_code == 400, f"signature {signature!r} answered {response.status_code}"
    assert_twilio_error(response, 400)


@PROPERTY
@given(params=param_strategy, query=st.dictionaries(st.sampled_from(["a", "b", "Body"]),
                                                     st.text(st.characters(codec="ascii"), max_size=10), max_size=2))
def test_valid_signatures_pass_and_tampered_ones_do_not(twirl, deployed, params, query):
    url = f"{deployed.site_url}/guarded" + (("?" + urlencode(query)) if query else "")
    validator = RequestValidator(twirl.auth_token)
    signature = validator.compute_signature(url, params)
    response = requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30)
    assert_status(response, 200)
    tampered = {**params, "Tampered": "yes"}
    assert requests.post(url, data=tampered, headers={"X-Twilio-Signature": signature}, timeout=30).status_code == 400
    wrong_key = RequestValidator(twirl.auth_token + "x").compute_signature(url, params)
    assert requests.post(url, data=params, headers={"X-Twilio-Signature": wrong_key}, timeout=30).status_code == 400


# --- request limits on sites --------------------------------------------------------------------

def test_header_flood_is_431(deployed):
    many = {f"X-Flood-{index}": "v" for index in range(88)}  # with the client's own: over 90
    assert_twilio_error(requests.get(f"{deployed.site_url}/hello", headers=many, timeout=30), 431, 82008)
    big = {"X-Big": "v" * (16 * 1024)}
    assert_twilio_error(requests.get(f"{deployed.site_url}/hello", headers=big, timeout=30), 431, 82008)
    cookies = {"Cookie": "; ".join(f"c{index}=" + "v" * 200 for index in range(80))}
    assert_twilio_error(requests.get(f"{deployed.site_url}/hello", headers=cookies, timeout=30), 431, 82008)
    assert requests.get(f"{deployed.site_url}/hello", headers={f"X-Ok-{i}": "v" for i in range(60)},
                        timeout=30).status_code == 200


def test_header_flood_beyond_96_is_still_431(twirl, deployed):
    # Beyond 96 headers the HTTP parser refuses the request before twirl sees it: the status is
    # 431 but the body is empty (a documented difference), and the connection is closed.
    many = {f"X-Flood-{index}": "v" for index in range(200)}
    response = requests.get(f"{deployed.site_url}/hello", headers=many, timeout=30)
    assert (response.status_code, response.content) == (431, b"")
    assert requests.get(f"{deployed.site_url}/hello", timeout=30).text == "hello"
    assert twirl.process.poll() is None


def test_huge_header_block_is_refused_not_crashing(twirl, deployed):
    headers = {f"X-Flood-{index}": "v" * 200 for index in range(2000)}
    try:
        response = requests.get(f"{deployed.site_url}/hello", headers=headers, timeout=30)
        assert 400 <= response.status_code < 500
    except requests.ConnectionError:
        pass  # the server may close the connection on an oversize header block
    assert requests.get(f"{deployed.site_url}/hello", timeout=30).text == "hello"
    assert twirl.process.poll() is None


def test_get_with_a_body_is_403(deployed):
    assert_twilio_error(requests.get(f"{deployed.site_url}/hello", data="a body", timeout=30), 403)
    assert_twilio_error(requests.get(f"{deployed.site_url}/hello", json={"a": 1}, timeout=30), 403)


def test_function_body_over_6_mb_is_413(deployed):
    response = requests.post(f"{deployed.site_url}/hello", data=b"x" * (6 * MIB + 1),
                             headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert_twilio_error(response, 413)
    assert requests.post(f"{deployed.site_url}/hello", data=b"x" * (MIB), timeout=60).status_code == 200


@pytest.mark.parametrize("size", [300 * 1024, 20 * MIB], ids=["300KiB", "20MiB"])
def test_api_form_body_over_the_limit_is_413_and_stores_nothing(api, size):
    before = count(api, "/v1/Services")
    response = api.post("/v1/Services", data={"UniqueName": "big", "FriendlyName": "f" * size}, timeout=120)
    assert response.status_code == 413, response.status_code
    assert count(api, "/v1/Services") == before


def test_api_form_body_over_the_limit_is_twilio_shaped(api):
    response = api.post("/v1/Services", data={"UniqueName": "big", "FriendlyName": "f" * (300 * 1024)})
    assert_twilio_error(response, 413)


# --- the official spec, driven by schemathesis -----------------------------------------------------

SCHEMATHESIS_EXAMPLES = 10
SCHEMATHESIS_BUDGET = 60.0  # seconds for all operations together


def test_official_spec_with_schemathesis(twirl, deployed):
    if not SPEC_PATH.is_file():
        pytest.skip(f"the official OpenAPI spec is absent ({SPEC_PATH.name} beside the repository)")
    import schemathesis
    from hypothesis import given as given_
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    session = requests.Session()
    session.auth = (twirl.account_sid, twirl.auth_token)
    failures, calls = [], [0]
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > SCHEMATHESIS_BUDGET:
            break

        @settings(max_examples=SCHEMATHESIS_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given_(case=operation.as_strategy())
        def check(case):
            if time.monotonic() - started > SCHEMATHESIS_BUDGET:
                return
            calls[0] += 1
            case.call_and_validate(base_url=twirl.url, session=session,
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            check()
        except Exception as error:  # noqa: BLE001 - collected and reported together below
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:600]}")
    print(f"schemathesis: {calls[0]} calls in {time.monotonic() - started:.1f} s, {len(failures)} failing operations")
    assert calls[0] > 0
    assert not failures, f"{len(failures)} operations failed ({calls[0]} calls):\n" + "\n".join(failures)
