"""The embedded demo, through the real binary: its page works at every URL twirl shows it at (the
banner's `/assets/index.html`, the root it falls back to, the live environment's mirrored domain,
and that domain as a `*.localhost` host): the stylesheet and every link resolve to something served."""

import re
import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from conftest import running_project_server
from support import assert_status, eventually, worker_pids, write_function_project

HELLO = "exports.handler = (context, event, callback) => callback(null, 'hi');\n"

DEPENDENCY_TIMEOUT = 180.0  # /voice needs `twilio`, which a machine's first run installs


class Links(HTMLParser):
    """Every `href` of an `<a>` or a stylesheet `<link>`, with the element it came from."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs or tag == "link" and attrs.get("rel") == "stylesheet":
            self.found.append((tag, attrs["href"]))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-project")
    server_dir = tmp_path_factory.mktemp("twirl")
    yield from running_project_server(server_dir, empty)


def get(demo, url):
    """GET an absolute URL on the demo's twirl, whatever host it names (`*.localhost` included)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return requests.get(demo.url + path, headers={"Host": parts.netloc}, timeout=30)


def test_the_demo_page_works_wherever_it_is_shown(demo):
    assets = eventually(demo.stdout, lambda out: re.search(r"^    public +(\S+/assets/index\.html)$", out, re.M),
                        timeout=10)
    banner_url = re.search(r"^    public +(\S+/assets/index\.html)$", assets, re.M).group(1)
    assert banner_url == f"{demo.local_url}/assets/index.html"
    domain = re.search(r"^  Environment  \S+/(\S+\.twil\.io)/$", demo.stdout(), re.M).group(1)
    port = urlsplit(demo.url).port
    local_host = f"http://{domain.removesuffix('.twil.io')}.localhost:{port}"
    voice = eventually(lambda: requests.get(f"{demo.url}/voice", timeout=30), lambda r: r.status_code == 200,
                       timeout=DEPENDENCY_TIMEOUT, interval=0.5)
    assert_status(voice, 200)

    pages = [banner_url, f"{demo.url}/", f"{demo.url}/{domain}/assets/index.html", f"{demo.url}/{domain}/",
             f"{local_host}/", f"{local_host}/assets/index.html"]
    for page in pages:
        response = get(demo, page)
        assert_status(response, 200)
        links = Links()
        links.feed(response.text)
        assert [tag for tag, _ in links.found].count("link") == 1, page
        assert len(links.found) == 4, links.found
        for tag, href in links.found:
            target = urljoin(page, href)
            answer = get(demo, target)
            assert answer.status_code == 200, f"{href} on {page} resolves to {target}: {answer.status_code}"
            if tag == "link":
                assert answer.headers["Content-Type"].startswith("text/css"), target


def test_the_demo_starts_its_worker_at_its_first_request_and_a_project_before_any(tmp_path):
    """A run that never calls the demo does not pay for an idle worker; a project being edited
    has one waiting, so the request after a save does not wait for a process to start."""
    empty, project = tmp_path / "no-project", tmp_path / "project"
    empty.mkdir()
    write_function_project(project, {"hello": HELLO})
    for directory, warm in ((empty, False), (project, True)):
        server_dir = tmp_path / f"twirl-{directory.name}"
        server_dir.mkdir()
        for server in running_project_server(server_dir, directory):
            if warm:
                eventually(lambda: worker_pids(server.process.pid), lambda pids: len(pids) == 1,
                           timeout=DEPENDENCY_TIMEOUT)
            else:
                # The banner is out and the console answers: the server has started, workerless.
                assert_status(requests.get(f"{server.url}/_twirl/", timeout=30), 200)
                time.sleep(1)
                assert worker_pids(server.process.pid) == []
            # The first request waits for the dependencies a machine's first run installs.
            response = eventually(lambda: requests.get(f"{server.url}/hello", timeout=30),
                                  lambda r: r.status_code != 503, timeout=DEPENDENCY_TIMEOUT, interval=0.5)
            assert_status(response, 200)
            eventually(lambda: worker_pids(server.process.pid), lambda pids: len(pids) == 1, timeout=10)
