"""Loaded into Python processes started by `twirl exec` (through PYTHONPATH): requests meant for
Twilio (`*.twilio.com`, every product, edge and region) and for environments' domains
(`*.twil.io`) go to twirl instead, so code using the `twilio` package or `requests` works
unchanged and nothing reaches the network. Other hosts are untouched.

The request keeps the host it was meant for (`Host`, `X-Forwarded-Host`) and its scheme
(`X-Forwarded-Proto`), so twirl routes it by product and answers with URLs that come back here."""

import os
import re
from urllib.parse import urlsplit, urlunsplit

_TARGET = urlsplit(os.environ.get("TWIRL_URL", ""))
_REDIRECTED = re.compile(r"(^|\.)twilio\.com$|\.twil\.io$", re.I)


def _redirect(request):
    """Points `request` (a requests.PreparedRequest) at twirl when it is meant for Twilio."""
    parts = urlsplit(request.url)
    host = (parts.hostname or "").lower()
    if not _REDIRECTED.search(host):
        return
    request.url = urlunsplit((_TARGET.scheme, _TARGET.netloc, parts.path or "/", parts.query, parts.fragment))
    for name in ("Host", "X-Forwarded-Host", "X-Forwarded-Proto"):
        request.headers.pop(name, None)
    request.headers["Host"] = host
    request.headers["X-Forwarded-Host"] = host
    request.headers["X-Forwarded-Proto"] = parts.scheme or "https"


def _patch_requests():
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:
        return
    original_send = HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        _redirect(request)
        return original_send(self, request, *args, **kwargs)

    HTTPAdapter.send = send


if _TARGET.netloc:
    _patch_requests()
