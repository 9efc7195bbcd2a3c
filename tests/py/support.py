"""Helpers shared by the integration tests: raw HTTP access to a running twirl,
version uploads shaped like @twilio-labs/serverless-api, and Twilio error checks."""

import itertools
import json
import mimetypes
import re
import secrets
import time
from operator import itemgetter
from pathlib import Path

import requests

DATE_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BUILD_POLL_INTERVAL = 0.1
# The first build on a machine installs the default dependency set with npm.
BUILD_POLL_TIMEOUT = 180.0
ERROR_KEYS = {"code", "message", "more_info", "status"}
MIB = 1024 * 1024

_counter = itertools.count(1)


def new_sid(prefix):
    """A well-formed SID (lowercase hex) that no server has issued."""
    return prefix + secrets.token_hex(16)


def unique_name(prefix="svc"):
    """A service/environment unique name that is valid and unlikely to collide."""
    return f"{prefix}-{next(_counter)}-{secrets.token_hex(3)}"


def poll_build(fetch_status, status_of=itemgetter("status")):
    """Call fetch_status every 100 ms until its status is no longer `building` (or ~10 s pass);
    returns the last result."""
    deadline = time.monotonic() + BUILD_POLL_TIMEOUT
    while True:
        result = fetch_status()
        if status_of(result) != "building" or time.monotonic() > deadline:
            return result
        time.sleep(BUILD_POLL_INTERVAL)


def version_form(path, visibility, content, filename="file", content_type="application/javascript"):
    """The multipart fields of a version upload, in serverless-api's order: Path, Visibility, Content."""
    if isinstance(content, str):
        content = content.encode()
    return [
        ("Path", (None, path)),
        ("Visibility", (None, visibility)),
        ("Content", (filename, content, content_type)),
    ]


def assert_twilio_error(response, status=None, code=None, message=None):
    """The response is a Twilio error: JSON with exactly code/message/more_info/status.

    With ``status=None`` any 4xx status is accepted."""
    context = f"{response.request.method} {response.request.url} -> {response.status_code} {response.text[:500]!r}"
    if status is None:
        assert 400 <= response.status_code < 500, f"expected a 4xx error: {context}"
    else:
        assert response.status_code == status, f"expected HTTP {status}: {context}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), context
    body = response.json()
    assert set(body) == ERROR_KEYS, f"error keys {sorted(body)}: {context}"
    assert isinstance(body["code"], int) and not isinstance(body["code"], bool), context
    assert body["status"] == response.status_code, context
    assert isinstance(body["message"], str) and body["message"], context
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}", context
    if code is not None:
        assert body["code"] == code, f"expected code {code}: {context}"
    if message is not None:
        assert body["message"] == message, f"expected message {message!r}: {context}"
    return body


def assert_status(response, status):
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url} -> expected {status}, "
        f"got {response.status_code} {response.text[:500]!r}"
    )


class HttpSession:
    """Requests to paths under one base URL (or to absolute URLs) over one session, with a timeout
    so that a server that stops answering fails the test instead of hanging it."""

    def __init__(self, base_url, auth=None):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth

    def url(self, path):
        return path if path.startswith("http") else self.base_url + path

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


class TwirlApi(HttpSession):
    """Raw HTTP access to one running twirl, authenticated as its account: TwirlApi(base_url, auth)."""

    def fetch(self, path, **kwargs):
        """GET that must succeed; returns the JSON body."""
        response = self.get(path, **kwargs)
        assert_status(response, 200)
        return response.json()

    def create(self, path, data=None, **kwargs):
        """POST that must create (201); returns the JSON body."""
        response = self.post(path, data=data, **kwargs)
        assert_status(response, 201)
        return response.json()

    def list_all(self, path, page_size=50):
        """Every item of a list endpoint, following next_page_url to the end."""
        url, items = f"{path}?PageSize={page_size}", []
        while url:
            page = self.fetch(url)
            items.extend(page[page["meta"]["key"]])
            url = page["meta"]["next_page_url"]
        return items

    def upload_version(self, service_sid, kind, resource_sid, path, visibility="public", content="",
                       filename="file", content_type="application/javascript"):
        """POST …/{Functions|Assets}/{ZH}/Versions as multipart, exactly as serverless-api does."""
        return self.post(
            f"/v1/Services/{service_sid}/{kind}/{resource_sid}/Versions",
            files=version_form(path, visibility, content, filename, content_type),
        )

    def wait_for_build(self, service_sid, build_sid):
        """Poll the build status until it leaves `building`; returns the last status body."""
        return poll_build(lambda: self.fetch(f"/v1/Services/{service_sid}/Builds/{build_sid}/Status"))

    def advance_clock(self, seconds):
        response = requests.post(self.url("/_twirl/clock"), json={"advance_seconds": seconds}, timeout=30)
        assert_status(response, 200)
        return response.json()


class Project:
    """A service with one environment, created through the raw API, for tests that need a parent."""

    def __init__(self, api, suffix="dev"):
        self.api = api
        name = unique_name()
        self.service = api.create("/v1/Services", {"UniqueName": name, "FriendlyName": name})
        self.sid = self.service["sid"]
        self.path = f"/v1/Services/{self.sid}"
        self.environment = api.create(f"{self.path}/Environments",
                                      {"UniqueName": f"{suffix}-environment", "DomainSuffix": suffix})
        self.env_path = f"{self.path}/Environments/{self.environment['sid']}"

    def create_resource(self, kind, friendly_name):
        return self.api.create(f"{self.path}/{kind}", {"FriendlyName": friendly_name})

    def upload(self, kind, resource_sid, path, visibility="public", content="exports.handler = () => {};",
               filename="file", content_type="application/javascript"):
        response = self.api.upload_version(self.sid, kind, resource_sid, path, visibility, content,
                                           filename, content_type)
        assert_status(response, 201)
        return response.json()

    def function_version(self, path="/hello", visibility="public", content=None):
        """A new function with one uploaded version; returns (function, version)."""
        function = self.create_resource("Functions", path)
        content = content or f"exports.handler = (c, e, cb) => cb(null, '{path}');"
        return function, self.upload("Functions", function["sid"], path, visibility, content,
                                     filename=path.rsplit("/", 1)[-1])

    def build(self, function_versions=(), asset_versions=(), dependencies=None):
        data = {"FunctionVersions": list(function_versions), "AssetVersions": list(asset_versions)}
        if dependencies is not None:
            data["Dependencies"] = dependencies
        build = self.api.create(f"{self.path}/Builds", data)
        status = self.api.wait_for_build(self.sid, build["sid"])
        assert status["status"] == "completed", status
        return build

    def deploy(self, build_sid):
        return self.api.create(f"{self.env_path}/Deployments", {"BuildSid": build_sid})


def wrapped_dependencies(dependencies):
    """Dependencies encoded the way serverless-api sends them: JSON wrapped in one extra pair of quotes."""
    return '"' + json.dumps(dependencies) + '"'


BUILD_ENTRY_KEYS = {"sid", "account_sid", "service_sid", "date_created", "path", "visibility"}
ALWAYS_INCLUDED_DEPENDENCIES = {"twilio", "@twilio/runtime-handler"}
# The set a Serverless Toolkit project declares, for the deploy flows that build through the API.
DEPENDENCIES = [{"name": "twilio", "version": "^5.0.0"}, {"name": "@twilio/runtime-handler", "version": "2.1.0"}]


def assert_build_entries(entries, versions, parent_key):
    """A build's `function_versions`/`asset_versions`: one object per version given at creation."""
    expected = {version["sid"]: version for version in versions}
    assert sorted(entry["sid"] for entry in entries) == sorted(expected), entries
    keys = BUILD_ENTRY_KEYS | {parent_key}
    for entry in entries:
        version = expected[entry["sid"]]
        assert set(entry) == keys, f"build entry keys {sorted(entry)} != {sorted(keys)}"
        assert {key: entry[key] for key in keys - {"visibility"}} == \
            {key: version[key] for key in keys - {"visibility"}}
        assert entry["visibility"].lower() == version["visibility"], entry


def assert_dependencies(dependencies, requested=()):
    """`dependencies` lists {name, version} objects: those requested plus twilio and the runtime handler."""
    for dependency in dependencies:
        assert set(dependency) == {"name", "version"}, dependency
        assert isinstance(dependency["name"], str) and isinstance(dependency["version"], str), dependency
    names = [dependency["name"] for dependency in dependencies]
    assert len(names) == len(set(names)), f"duplicate dependencies: {names}"
    assert ALWAYS_INCLUDED_DEPENDENCIES <= set(names), names
    for dependency in requested:
        assert dependency in dependencies, f"{dependency} missing from {dependencies}"


def assert_build_contents(function_entries, asset_entries, dependencies, function_version, asset_version):
    """A build created from one function version, one asset version and DEPENDENCIES lists just those.
    The build's lists are passed one by one, as the helper library and raw JSON spell them differently."""
    assert_build_entries(function_entries, [function_version], "function_sid")
    assert_build_entries(asset_entries, [asset_version], "asset_sid")
    assert_dependencies(dependencies, DEPENDENCIES)


# --- Deploying a Serverless Toolkit project -------------------------------------------------------

DEPLOY_BUILD_TIMEOUT = 180.0  # the first build on a machine installs its dependency set with npm
DEPLOY_POLL_INTERVAL = 0.25
CREDENTIAL_KEYS = {"ACCOUNT_SID", "AUTH_TOKEN"}


class ProjectFile:
    """One function or asset of a project, named as the Serverless Toolkit names it."""

    def __init__(self, kind, file, relative):
        self.kind = kind
        self.file = file
        name = relative.as_posix()
        if kind == "Functions":
            stem, extension = name[:-len(".js")], ""
        else:
            dot = name.rfind(".")
            stem, extension = (name[:dot], name[dot:]) if dot > name.rfind("/") + 1 else (name, "")
        self.visibility = "public"
        for visibility in ("protected", "private"):
            if stem.endswith("." + visibility):
                stem, self.visibility = stem[:-len(visibility) - 1], visibility
        self.path = "/" + re.sub(r"\s", "-", stem + extension)

    @property
    def filename(self):
        return self.path.rsplit("/", 1)[-1]

    @property
    def content_type(self):
        if self.kind == "Functions":
            return "application/javascript"
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"


def project_files(project_dir):
    """The functions (`functions/**/*.js`) and assets (`assets/**`) of a project directory."""
    project_dir = Path(project_dir)
    found = []
    for kind, folder in (("Functions", "functions"), ("Assets", "assets")):
        root = project_dir / folder
        for file in sorted(root.rglob("*")) if root.is_dir() else ():
            relative = file.relative_to(root)
            if not file.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            if kind == "Functions" and file.suffix != ".js":
                continue
            found.append(ProjectFile(kind, file, relative))
    return found


def read_env_file(path):
    """KEY=VALUE lines of a `.env` file, without comments, empty values and the account credentials
    (what twilio-run deploys as variables)."""
    variables = {}
    if Path(path).is_file():
        for line in Path(path).read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#") and value and key not in CREDENTIAL_KEYS:
                variables[key.strip()] = value.strip().strip('"')
    return variables


def package_dependencies(project_dir):
    """package.json `dependencies` as the build's [{name, version}] list (empty version → `*`)."""
    package = json.loads((Path(project_dir) / "package.json").read_text())
    return [{"name": name, "version": version or "*"}
            for name, version in package.get("dependencies", {}).items()]


def wait_for_build_status(api, service_sid, build_sid, timeout=DEPLOY_BUILD_TIMEOUT):
    """Poll `…/Builds/{ZB}/Status` until it leaves `building` (or `timeout` seconds pass)."""
    deadline = time.monotonic() + timeout
    while True:
        status = api.fetch(f"/v1/Services/{service_sid}/Builds/{build_sid}/Status")
        if status["status"] != "building" or time.monotonic() > deadline:
            return status
        time.sleep(DEPLOY_POLL_INTERVAL)


class Deployed:
    """What deploy_project created: SIDs, the environment's domain and the URL its site is served at."""

    def __init__(self, api, service, environment, build, deployment, resources, versions):
        self.service = service
        self.environment = environment
        self.build = build
        self.deployment = deployment
        self.service_sid = service["sid"]
        self.environment_sid = environment["sid"]
        self.build_sid = build["sid"]
        self.deployment_sid = deployment["sid"]
        self.domain_name = environment["domain_name"]
        self.site_url = f"{api.base_url}/{self.domain_name}"
        self.service_path = f"/v1/Services/{self.service_sid}"
        self.environment_path = f"{self.service_path}/Environments/{self.environment_sid}"
        self.resource_sids = resources  # path → ZH (functions and assets)
        self.version_sids = versions    # path → ZN


def _find_or_create_service(api, name, include_credentials):
    response = api.post("/v1/Services", data={
        "UniqueName": name, "FriendlyName": name,
        "IncludeCredentials": str(include_credentials).lower(), "UiEditable": "false",
    })
    if response.status_code == 201:
        return response.json()
    for service in api.list_all("/v1/Services"):
        if service["unique_name"] == name:
            return service
    assert_status(response, 201)


def _find_or_create_environment(api, service_path, suffix):
    for environment in api.list_all(f"{service_path}/Environments"):
        if (environment["domain_suffix"] or "") == suffix:
            return environment
    data = {"UniqueName": f"{suffix}-environment" if suffix else "production"}
    if suffix:
        data["DomainSuffix"] = suffix
    return api.create(f"{service_path}/Environments", data)


def _upload_resources(api, service_sid, service_path, files):
    """Create the functions/assets that are missing (FriendlyName = path) and upload a version of each."""
    resources, versions = {}, {}
    for kind in ("Functions", "Assets"):
        existing = {item["friendly_name"]: item["sid"] for item in api.list_all(f"{service_path}/{kind}")}
        for file in (f for f in files if f.kind == kind):
            if file.path not in existing:
                existing[file.path] = api.create(f"{service_path}/{kind}", {"FriendlyName": file.path})["sid"]
            response = api.upload_version(service_sid, kind, existing[file.path], file.path, file.visibility,
                                          file.file.read_bytes(), file.filename, file.content_type)
            assert_status(response, 201)
            resources[file.path], versions[file.path] = existing[file.path], response.json()["sid"]
    return resources, versions


def _set_variables(api, environment_path, variables):
    existing = {item["key"]: item for item in api.list_all(f"{environment_path}/Variables")}
    for key, value in variables.items():
        if key not in existing:
            api.create(f"{environment_path}/Variables", {"Key": key, "Value": value})
        elif existing[key]["value"] != value:
            assert_status(api.post(f"{environment_path}/Variables/{existing[key]['sid']}",
                                   data={"Key": key, "Value": value}), 200)


def deploy_project(api, project_dir, service_unique_name, environment_suffix="dev", variables=None,
                   dependencies=None, include_credentials=True):
    """Deploy a Serverless Toolkit project directory the way `twilio-run deploy` does: service
    (reused when the unique name exists), environment `<suffix>-environment`, a version of every
    function and asset, a build with package.json's dependencies, the `.env` variables (plus
    `variables`), and a deployment. Returns a Deployed."""
    project_dir = Path(project_dir)
    service = _find_or_create_service(api, service_unique_name, include_credentials)
    service_path = f"/v1/Services/{service['sid']}"
    environment = _find_or_create_environment(api, service_path, environment_suffix)
    files = project_files(project_dir)
    resources, versions = _upload_resources(api, service["sid"], service_path, files)

    if dependencies is None:
        dependencies = package_dependencies(project_dir)
    build = api.create(f"{service_path}/Builds", {
        "Dependencies": json.dumps(dependencies),
        "FunctionVersions": [versions[f.path] for f in files if f.kind == "Functions"],
        "AssetVersions": [versions[f.path] for f in files if f.kind == "Assets"],
    })
    status = wait_for_build_status(api, service["sid"], build["sid"])
    assert status["status"] == "completed", (
        f"build {build['sid']} ended {status['status']}: {api.get('/_twirl/builds/' + build['sid']).text}")

    environment_path = f"{service_path}/Environments/{environment['sid']}"
    _set_variables(api, environment_path, {**read_env_file(project_dir / ".env"), **(variables or {})})
    deployment = api.create(f"{environment_path}/Deployments", {"BuildSid": build["sid"]})
    return Deployed(api, service, environment, build, deployment, resources, versions)


# --- Waiting for a live project to reload ---------------------------------------------------------

RELOAD_TIMEOUT = 5.0
RELOAD_POLL_INTERVAL = 0.05


def eventually(fetch, accept, timeout=RELOAD_TIMEOUT, interval=RELOAD_POLL_INTERVAL):
    """Call fetch() until accept(result) holds or `timeout` seconds pass; returns the last result
    (the caller asserts on it, so a failure shows what was last seen)."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)


# --- Reliability and security tests: small projects written on the fly, worker processes ----------

import os  # noqa: E402  (kept with the helpers that use it)

FIXTURE_PACKAGE_JSON = Path(__file__).resolve().parents[2] / "fixtures" / "runtime-project" / "package.json"


def write_function_project(directory, functions, assets=None):
    """A Serverless Toolkit project in `directory`: the runtime fixture's package.json, then
    `functions/{name}.js` for each {name: source} and `assets/{name}` for each {name: bytes or text}
    (names may carry `.protected`/`.private` before the extension)."""
    directory = Path(directory)
    (directory / "functions").mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(FIXTURE_PACKAGE_JSON.read_text())
    for name, source in functions.items():
        file = directory / "functions" / f"{name}.js"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(source)
    for name, content in (assets or {}).items():
        file = directory / "assets" / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content if isinstance(content, bytes) else content.encode())
    return directory


def _proc_stat(pid):
    """(state, parent pid) of a process from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")
    except OSError:
        return []


def worker_pids(parent_pid):
    """Live (non-zombie) Node workers started by the twirl process `parent_pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _proc_stat(int(entry))
        if stat and stat[1] == parent_pid and stat[0] != "Z" and \
                any(part.endswith(b"harness.js") for part in proc_cmdline(int(entry))):
            found.append(int(entry))
    return found


# --- The official clients, recorded ----------------------------------------------------------------

from twilio.base.exceptions import TwilioRestException  # noqa: E402
from twilio.http.http_client import TwilioHttpClient  # noqa: E402


class ExchangeRecorder(TwilioHttpClient):
    """twilio-python's own HTTP client, keeping every exchange as (method, URL, status, JSON body or
    None), for spec_check.Spec.check_exchanges."""

    def __init__(self):
        super().__init__()
        self.exchanges = []

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        body = json.loads(response.text) if response.text else None
        self.exchanges.append((method, url, response.status_code, body))
        return response


def refused(call):
    """(status, code) of the Twilio error `call()` raises."""
    import pytest

    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code
