"""Checks twirl's responses against Twilio's OpenAPI documents (Serverless, Sync, Verify, Lookups, the 2010
API).

Beyond the schema itself (exact key sets, types, nullability, formats, patterns, enums) every resource's
`url` must be its canonical absolute URL on the server that answered, and its `links` must be the ones
Twilio returns, built from that `url`. The 2010 API's family differs: a resource's `uri`, its
`subresource_uris` and the page URIs are relative to the API's host, under the account, and dates are RFC 2822
with a literal `+0000`. `Run` calls a document's operations by operationId and checks every answer."""

import json
import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from support import DATE_TIME_RE, assert_status, assert_twilio_error

SCHEMA_REF_PREFIX = "#/components/schemas/"
SID_PATTERN_RE = re.compile(r"^\^([A-Z]{2})\[0-9a-fA-F\]\{32\}\$$")

# Documented extensions of the spec's enums: Twilio accepts node24 since 2026-07.
ENUM_EXTENSIONS = {"build_enum_runtime": {"node24"}}

# Where each resource lives, from its own SIDs (never unique names).
CANONICAL_PATHS = {
    "serverless.v1.service": "/Services/{sid}",
    "serverless.v1.service.environment": "/Services/{service_sid}/Environments/{sid}",
    "serverless.v1.service.function": "/Services/{service_sid}/Functions/{sid}",
    "serverless.v1.service.function.function_version":
        "/Services/{service_sid}/Functions/{function_sid}/Versions/{sid}",
    "serverless.v1.service.function.function_version.function_version_content":
        "/Services/{service_sid}/Functions/{function_sid}/Versions/{sid}/Content",
    "serverless.v1.service.asset": "/Services/{service_sid}/Assets/{sid}",
    "serverless.v1.service.asset.asset_version": "/Services/{service_sid}/Assets/{asset_sid}/Versions/{sid}",
    "serverless.v1.service.build": "/Services/{service_sid}/Builds/{sid}",
    "serverless.v1.service.build.build_status": "/Services/{service_sid}/Builds/{sid}/Status",
    "serverless.v1.service.environment.deployment":
        "/Services/{service_sid}/Environments/{environment_sid}/Deployments/{sid}",
    "serverless.v1.service.environment.variable":
        "/Services/{service_sid}/Environments/{environment_sid}/Variables/{sid}",
    "serverless.v1.service.environment.log": "/Services/{service_sid}/Environments/{environment_sid}/Logs/{sid}",
    "verify.v2.service": "/Services/{sid}",
    "verify.v2.service.verification": "/Services/{service_sid}/Verifications/{sid}",
    "sync.v1.service": "/Services/{sid}",
    "sync.v1.service.document": "/Services/{service_sid}/Documents/{sid}",
    "sync.v1.service.sync_list": "/Services/{service_sid}/Lists/{sid}",
    "sync.v1.service.sync_map": "/Services/{service_sid}/Maps/{sid}",
    "sync.v1.service.sync_stream": "/Services/{service_sid}/Streams/{sid}",
    "sync.v1.service.sync_list.sync_list_item": "/Services/{service_sid}/Lists/{list_sid}/Items/{index}",
    "sync.v1.service.sync_map.sync_map_item": "/Services/{service_sid}/Maps/{map_sid}/Items/{key}",
    "sync.v1.service.document.document_permission":
        "/Services/{service_sid}/Documents/{document_sid}/Permissions/{identity}",
    "sync.v1.service.sync_list.sync_list_permission":
        "/Services/{service_sid}/Lists/{list_sid}/Permissions/{identity}",
    "sync.v1.service.sync_map.sync_map_permission": "/Services/{service_sid}/Maps/{map_sid}/Permissions/{identity}",
}

# The 2010 API's resources, under `/2010-04-01/Accounts/{account_sid}`.
CANONICAL_URIS_2010 = {
    "api.v2010.account.message": "/Messages/{sid}.json",
    "api.v2010.account.message.media": "/Messages/{parent_sid}/Media/{sid}.json",
    "api.v2010.account.incoming_phone_number": "/IncomingPhoneNumbers/{sid}.json",
    "api.v2010.account.call": "/Calls/{sid}.json",
}
RFC_2822_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d \+0000$")
# URL fields whose value the client chose: empty when unset, an absolute http(s) URL, or (twirl's own
# extension) a path of the live project.
CLIENT_URL_FIELDS = {"sms_url", "sms_fallback_url", "voice_url", "voice_fallback_url", "status_callback",
                     "webhook_url"}

# The `links` of each resource: name -> suffix appended to the resource's own url.
LINKS = {
    "serverless.v1.service": {"environments": "/Environments", "functions": "/Functions",
                              "assets": "/Assets", "builds": "/Builds"},
    "serverless.v1.service.environment": {"variables": "/Variables", "deployments": "/Deployments",
                                          "logs": "/Logs"},
    "serverless.v1.service.function": {"function_versions": "/Versions"},
    "serverless.v1.service.asset": {"asset_versions": "/Versions"},
    "serverless.v1.service.function.function_version": {"function_version_content": "/Content"},
    "serverless.v1.service.build": {"build_status": "/Status"},
    "verify.v2.service": {"verification_checks": "/VerificationCheck", "verifications": "/Verifications",
                          "rate_limits": "/RateLimits", "messaging_configurations": "/MessagingConfigurations",
                          "entities": "/Entities", "webhooks": "/Webhooks", "access_tokens": "/AccessTokens"},
    "sync.v1.service": {"documents": "/Documents", "lists": "/Lists", "maps": "/Maps", "streams": "/Streams"},
    "sync.v1.service.document": {"permissions": "/Permissions"},
    "sync.v1.service.sync_list": {"items": "/Items", "permissions": "/Permissions"},
    "sync.v1.service.sync_map": {"items": "/Items", "permissions": "/Permissions"},
    "sync.v1.service.sync_stream": {"messages": "/Messages"},
}

# Lookup's data packages are null unless `Fields` asks for them, and any of their fields may be null:
# the document says neither, but its own examples answer that way (`"caller_name": null`,
# `"error_code": null`).
NULL_AS_IN_EXAMPLES = {"CallerNameInfo", "SimSwapInfo", "LastSimSwapInfo", "CallForwardingInfo",
                       "LineTypeIntelligenceInfo", "LineStatusInfo", "IdentityMatchInfo", "ReassignedNumberInfo",
                       "SmsPumpingRiskInfo"}
# The same for the packages the document describes inline.
NULL_FIELDS_AS_IN_EXAMPLES = {"LookupResponse": {"phone_number_quality_score", "pre_fill"}}

PYTHON_TYPES = {"string": str, "boolean": bool, "integer": int, "array": list, "object": dict}


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    # The success status (the lowest, when the document lists several, as VerificationCheck's 200/201).
    status: int
    schema: Optional[dict]
    statuses: frozenset = frozenset()


class Spec:
    """The operations of the OpenAPI document, keyed by operationId."""

    def __init__(self, path):
        document = json.loads(path.read_text())
        self.schemas = document["components"]["schemas"]
        self.operations = {}
        for path_template, item in document["paths"].items():
            for method in ("get", "post", "delete", "put", "patch"):
                if method in item:
                    operation = item[method]
                    successes = sorted((int(status), response) for status, response in operation["responses"].items()
                                       if status.startswith("2"))
                    status, response = successes[0]
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    self.operations[operation["operationId"]] = Operation(
                        operation["operationId"], method.upper(), path_template, status, schema,
                        frozenset(code for code, _ in successes))
        self._patterns = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", op.path) + "$"), op)
                          for op in self.operations.values()]

    def operation_for(self, method, path):
        """The operation a request is: its method and a path of the product's own (`/v2/…`)."""
        found = [op for pattern, op in self._patterns if op.method == method.upper() and pattern.match(path)]
        assert len(found) == 1, f"{method} {path} matches {[op.id for op in found]}"
        return found[0]

    def check_exchanges(self, exchanges, origin, account_sid):
        """Checks what a client recorded — (method, absolute URL, status, JSON body or None) — against
        the document; returns the operationIds answered successfully."""
        checker = ResponseChecker(self, origin, account_sid)
        covered = set()
        for method, url, status, body in exchanges:
            assert url.startswith(origin + "/"), f"{method} {url} was not sent to {origin}"
            operation = self.operation_for(method, urlsplit(url).path[len(urlsplit(origin).path):])
            if not 200 <= status < 300:
                continue
            assert status in operation.statuses, f"{operation.id}: {status} not in {sorted(operation.statuses)}"
            if operation.schema is None:
                assert body is None, f"{operation.id}: body {body!r}"
            else:
                checker.check(operation.schema, body, f"{operation.id} {url}")
            covered.add(operation.id)
        return covered


class ResponseChecker:
    """Validates decoded JSON bodies against spec schemas for one server and account. `origin` is where
    the product's absolute URLs start; for the 2010 API, whose URIs are relative, it is unused."""

    def __init__(self, spec, origin, account_sid):
        self.spec = spec
        self.origin = origin
        self.account_sid = account_sid
        self.account_uri = f"/2010-04-01/Accounts/{account_sid}"

    def check_named(self, name, value, where=None):
        """Checks `value` against the schema called `name`."""
        self.check({"$ref": SCHEMA_REF_PREFIX + name}, value, where or name)

    def check(self, schema, value, where, null_allowed=False):
        name = None
        if "$ref" in schema:
            name = schema["$ref"][len(SCHEMA_REF_PREFIX):]
            schema = self.spec.schemas[name]
        if value is None:
            allowed = schema.get("nullable") or null_allowed or name in NULL_AS_IN_EXAMPLES
            assert allowed, f"{where}: null, but the schema is not nullable"
            return
        self._check_type(schema.get("type"), value, where)
        if "enum" in schema:
            allowed = set(schema["enum"]) | ENUM_EXTENSIONS.get(name, set())
            assert value in allowed, f"{where}: {value!r} not one of {sorted(allowed)}"
        if isinstance(value, str):
            self._check_string(schema, value, where)
        elif isinstance(value, list) and schema.get("items"):
            for index, item in enumerate(value):
                self.check(schema["items"], item, f"{where}[{index}]")
        elif isinstance(value, dict):
            self._check_object(schema, value, where, name)
            if name in CANONICAL_PATHS:
                self._check_resource(name, value, where)
            elif name in CANONICAL_URIS_2010:
                self._check_resource_2010(name, value, where)

    def _check_type(self, kind, value, where):
        if kind is None:
            return
        expected = PYTHON_TYPES[kind]
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        assert ok, f"{where}: expected {kind}, got {type(value).__name__} {value!r}"

    def _check_string(self, schema, value, where):
        if "minLength" in schema:
            assert len(value) >= schema["minLength"], f"{where}: {value!r} shorter than {schema['minLength']}"
        if "maxLength" in schema:
            assert len(value) <= schema["maxLength"], f"{where}: {value!r} longer than {schema['maxLength']}"
        if "pattern" in schema:
            pattern = schema["pattern"]
            assert re.search(pattern, value), f"{where}: {value!r} does not match {pattern}"
            sid = SID_PATTERN_RE.match(pattern)
            if sid:
                assert re.fullmatch(sid.group(1) + "[0-9a-f]{32}", value), f"{where}: {value!r} is not lowercase hex"
        if schema.get("format") == "date-time":
            assert DATE_TIME_RE.match(value), f"{where}: {value!r} is not YYYY-MM-DDTHH:MM:SSZ"
        if schema.get("format") == "date-time-rfc-2822":
            assert RFC_2822_RE.match(value), f"{where}: {value!r} is not RFC 2822 with +0000"
        if schema.get("format") == "phone-number":
            assert re.fullmatch(r"([a-z]+:)?\+[1-9]\d{1,14}|[A-Za-z0-9 ]{1,11}", value), f"{where}: {value!r}"
        if schema.get("format") == "uri":
            field = where.rsplit(".", 1)[-1]
            if field in CLIENT_URL_FIELDS:
                assert value == "" or value.startswith("/") or re.match(r"^https?://[^/]+", value), (
                    f"{where}: {value!r} is not a webhook URL")
            else:
                self.check_url(value, where)

    def check_url(self, value, where):
        assert isinstance(value, str), f"{where}: {value!r} is not a URL"
        if value.startswith("/2010-04-01/"):
            assert value.startswith(self.account_uri + "/"), f"{where}: {value!r} is not under {self.account_uri}"
            return
        assert value.startswith(self.origin + "/"), f"{where}: {value!r} is not an absolute URL on {self.origin}"

    def _check_object(self, schema, value, where, name=None):
        if schema.get("format") == "uri-map":
            for key, url in value.items():
                self.check_url(url, f"{where}.{key}")
        properties = schema.get("properties")
        if properties is None:
            return
        assert set(value) == set(properties), (
            f"{where}: keys differ from the schema; extra {sorted(set(value) - set(properties))}, "
            f"missing {sorted(set(properties) - set(value))}")
        for key, subschema in properties.items():
            nullable = name in NULL_AS_IN_EXAMPLES or key in NULL_FIELDS_AS_IN_EXAMPLES.get(name, ())
            self.check(subschema, value[key], f"{where}.{key}", nullable)
        if "meta" in properties:
            (list_key,) = set(properties) - {"meta"}
            assert value["meta"]["key"] == list_key, f"{where}.meta.key: {value['meta']['key']!r} != {list_key!r}"

    def _check_resource_2010(self, name, value, where):
        expected = self.account_uri + CANONICAL_URIS_2010[name].format(**value)
        assert value["uri"] == expected, f"{where}.uri: {value['uri']!r} != {expected!r}"
        assert value["account_sid"] == self.account_sid, f"{where}.account_sid: {value['account_sid']!r}"

    def _check_resource(self, name, value, where):
        version = "/" + name.split(".")[1]
        expected_url = self.origin + version + CANONICAL_PATHS[name].format(**value)
        assert value["url"] == expected_url, f"{where}.url: {value['url']!r} != {expected_url!r}"
        if name in LINKS:
            expected_links = {key: value["url"] + suffix for key, suffix in LINKS[name].items()}
            assert value["links"] == expected_links, f"{where}.links: {value['links']!r} != {expected_links!r}"
        assert value["account_sid"] == self.account_sid, f"{where}.account_sid: {value['account_sid']!r}"


class Run:
    """Calls a document's operations by operationId against one server, checks each response, and
    records what was covered. `prefix` is where the product is mounted on twirl's address (`/sync`),
    so paths are `{prefix}/v1/…` and resource URLs start with `server.url + prefix`."""

    def __init__(self, spec, server, prefix=""):
        self.spec = spec
        self.server = server
        self.prefix = prefix
        self.api = server.api
        self.checker = ResponseChecker(spec, server.url + prefix, server.account_sid)
        self.exercised = set()
        self.schema_checked = set()
        self.last_response = None

    def call(self, operation_id, params=None, data=None, expect_error=None, headers=None, **path_params):
        operation = self.spec.operations[operation_id]
        response = self.api.request(operation.method, self.prefix + operation.path.format(**path_params),
                                    params=params, data=data, headers=headers)
        return self.check(operation, response, expect_error)

    def follow(self, operation_id, url):
        """GET an absolute URL the server handed out (paging links) as `operation_id`."""
        return self.check(self.spec.operations[operation_id], self.api.get(url), None)

    def check(self, operation, response, expect_error):
        self.exercised.add(operation.id)
        self.last_response = response
        if expect_error:
            return assert_twilio_error(response, *expect_error)
        assert_status(response, operation.status)
        self.schema_checked.add(operation.id)
        if operation.schema is None:
            assert response.content == b"", f"{operation.id}: body {response.text!r} on {operation.status}"
            return None
        assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
        body = response.json()
        self.checker.check(operation.schema, body, f"{operation.id} {response.request.url}")
        return body

    def walk(self, operation_id, page_size, **path_params):
        """All pages of a list, following next_page_url from the first page."""
        pages = [self.call(operation_id, params={"PageSize": page_size}, **path_params)]
        while pages[-1]["meta"]["next_page_url"]:
            pages.append(self.follow(operation_id, pages[-1]["meta"]["next_page_url"]))
        return pages

    def assert_covered(self):
        """Every operation of the document was called, and answered successfully at least once."""
        every = set(self.spec.operations)
        assert self.exercised == every, f"not exercised: {sorted(every - self.exercised)}"
        assert self.schema_checked == every, f"no successful response checked: {sorted(every - self.schema_checked)}"


def items(page):
    return page[page["meta"]["key"]]


def sids(page):
    return [item["sid"] for item in items(page)]
