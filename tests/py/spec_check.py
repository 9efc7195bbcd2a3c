"""Checks twirl's responses against Twilio's Serverless OpenAPI document.

Beyond the schema itself (exact key sets, types, nullability, formats, patterns, enums) every resource's
`url` must be its canonical absolute URL on the server that answered, and its `links` must be the ones
Twilio returns, built from that `url`."""

import json
import re
from dataclasses import dataclass
from typing import Optional

from support import DATE_TIME_RE

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
}

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
}

PYTHON_TYPES = {"string": str, "boolean": bool, "integer": int, "array": list, "object": dict}


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    status: int
    schema: Optional[dict]


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
                    (status, response), = operation["responses"].items()
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    self.operations[operation["operationId"]] = Operation(
                        operation["operationId"], method.upper(), path_template, int(status), schema)


class ResponseChecker:
    """Validates decoded JSON bodies against spec schemas for one server and account."""

    def __init__(self, spec, origin, account_sid):
        self.spec = spec
        self.origin = origin
        self.account_sid = account_sid

    def check(self, schema, value, where):
        name = None
        if "$ref" in schema:
            name = schema["$ref"][len(SCHEMA_REF_PREFIX):]
            schema = self.spec.schemas[name]
        if value is None:
            assert schema.get("nullable"), f"{where}: null, but the schema is not nullable"
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
            self._check_object(schema, value, where)
            if name in CANONICAL_PATHS:
                self._check_resource(name, value, where)

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
        if schema.get("format") == "uri":
            self.check_url(value, where)

    def check_url(self, value, where):
        assert isinstance(value, str) and value.startswith(self.origin + "/"), (
            f"{where}: {value!r} is not an absolute URL on {self.origin}")

    def _check_object(self, schema, value, where):
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
            self.check(subschema, value[key], f"{where}.{key}")
        if "meta" in properties:
            (list_key,) = set(properties) - {"meta"}
            assert value["meta"]["key"] == list_key, f"{where}.meta.key: {value['meta']['key']!r} != {list_key!r}"

    def _check_resource(self, name, value, where):
        expected_url = self.origin + "/v1" + CANONICAL_PATHS[name].format(**value)
        assert value["url"] == expected_url, f"{where}.url: {value['url']!r} != {expected_url!r}"
        if name in LINKS:
            expected_links = {key: value["url"] + suffix for key, suffix in LINKS[name].items()}
            assert value["links"] == expected_links, f"{where}.links: {value['links']!r} != {expected_links!r}"
        assert value["account_sid"] == self.account_sid, f"{where}.account_sid: {value['account_sid']!r}"
