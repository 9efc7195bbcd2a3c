"""Loaded into Python processes started by `twirl exec` (through PYTHONPATH): requests meant
for Twilio's Serverless hosts and for environments' domains go to twirl instead, so code using
the `twilio` package works unchanged. Other hosts are untouched."""

import os
import re
from urllib.parse import urlsplit, urlunsplit

_TARGET = urlsplit(os.environ.get("TWIRL_URL", ""))
_API_HOST = re.compile(r"^serverless(-upload)?(\.[a-z0-9-]+\.[a-z0-9-]+)?\.twilio\.com$", re.I)
_SITE_HOST = re.compile(r"\.twil\.io$", re.I)


def _rewrite(url):
    """The twirl URL for `url`, or None to leave it alone."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _API_HOST.match(host):
        path = parts.path
    elif _SITE_HOST.search(host):
        path = "/" + host + (parts.path or "/")
    else:
        return None
    return urlunsplit((_TARGET.scheme, _TARGET.netloc, path, parts.query, parts.fragment))


def _patch_requests():
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:
        return
    original_send = HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        destination = _rewrite(request.url)
        if destination is not None:
            request.url = destination
            request.headers.pop("Host", None)
        return original_send(self, request, *args, **kwargs)

    HTTPAdapter.send = send


if _TARGET.netloc:
    _patch_requests()
