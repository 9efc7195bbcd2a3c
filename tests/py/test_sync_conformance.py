"""Every operation of Twilio's Sync OpenAPI document, driven with raw HTTP at `/sync/v1`, each successful
response checked against the schema the document gives for that path, method and status; documents and
items also carry their revision as the `ETag` header the document lists."""

import pytest
import requests

from conftest import SYNC_SPEC_PATH
from spec_check import Run, Spec, items, sids
from support import assert_status

PREFIX = "/sync"
# Operations whose responses the document says carry an ETag.
TAGGED = {"FetchDocument", "UpdateDocument", "CreateDocument", "FetchSyncListItem", "UpdateSyncListItem",
          "CreateSyncListItem", "FetchSyncMapItem", "UpdateSyncMapItem", "CreateSyncMapItem"}


@pytest.fixture(scope="module")
def spec():
    if not SYNC_SPEC_PATH.is_file():
        pytest.skip(f"the Sync OpenAPI document is not at {SYNC_SPEC_PATH}")
    return Spec(SYNC_SPEC_PATH)


class SyncRun(Run):
    """`Run` at the Sync mount, checking the ETag of every operation that has one."""

    def __init__(self, spec, server):
        super().__init__(spec, server, PREFIX)

    def check(self, operation, response, expect_error):
        body = super().check(operation, response, expect_error)
        if operation.id in TAGGED and not expect_error:
            assert response.headers.get("ETag") == body["revision"], (operation.id, response.headers)
        return body


@pytest.fixture
def run(spec, twirl):
    return SyncRun(spec, twirl)


def test_every_sync_operation_conforms(run):
    service = exercise_services(run)
    sid = service["sid"]
    exercise_documents(run, sid)
    exercise_collection(run, sid, "SyncList")
    exercise_collection(run, sid, "SyncMap")
    exercise_streams(run, sid)
    run.call("DeleteService", Sid=sid)
    run.call("FetchService", Sid=sid, expect_error=(404, 54050))
    run.assert_covered()


def exercise_services(run):
    default = run.call("FetchService", Sid="default")
    assert (default["unique_name"], default["friendly_name"]) == ("default", "Default Service")
    assert run.call("FetchService", Sid=default["sid"]) == default
    service = run.call("CreateService", data={
        "FriendlyName": "Conformance", "WebhookUrl": "https://example.com/sync", "AclEnabled": "true",
        "ReachabilityWebhooksEnabled": "true", "ReachabilityDebouncingEnabled": "true",
        "ReachabilityDebouncingWindow": "2000", "WebhooksFromRestEnabled": "true"})
    assert service["unique_name"] is None
    assert (service["webhook_url"], service["acl_enabled"], service["reachability_debouncing_window"]) == \
        ("https://example.com/sync", True, 2000)
    updated = run.call("UpdateService", Sid=service["sid"], data={"FriendlyName": "Renamed", "AclEnabled": "false"})
    assert (updated["friendly_name"], updated["acl_enabled"], updated["webhook_url"]) == \
        ("Renamed", False, "https://example.com/sync")
    assert sids(run.call("ListService")) == [default["sid"], service["sid"]]
    return updated


def exercise_documents(run, service_sid):
    ids = {"ServiceSid": service_sid}
    document = run.call("CreateDocument", data={"UniqueName": "profile", "Data": '{"name": "Ada"}', "Ttl": "3600"},
                        **ids)
    assert (document["revision"], document["data"], document["created_by"]) == ("0", {"name": "Ada"}, "system")
    assert document["date_expires"] is not None
    assert run.call("FetchDocument", Sid="profile", **ids) == document
    updated = run.call("UpdateDocument", Sid=document["sid"], data={"Data": '{"name": "Grace"}', "Ttl": "0"},
                       headers={"If-Match": "0"}, **ids)
    assert (updated["revision"], updated["data"], updated["date_expires"]) == ("1", {"name": "Grace"}, None)
    run.call("UpdateDocument", Sid=document["sid"], data={"Data": "{}"}, headers={"If-Match": "0"},
             expect_error=(412, 54103), **ids)
    assert sids(run.call("ListDocument", **ids)) == [document["sid"]]
    exercise_permissions(run, "Document", {"DocumentSid": document["sid"], **ids})
    run.call("DeleteDocument", Sid=document["sid"], **ids)
    run.call("FetchDocument", Sid=document["sid"], expect_error=(404, 54100), **ids)


def exercise_permissions(run, kind, ids):
    """`kind` is the operationId infix: Document, SyncList, SyncMap."""
    permission = run.call(f"Update{kind}Permission", Identity="alice",
                          data={"Read": "true", "Write": "false", "Manage": "false"}, **ids)
    assert (permission["identity"], permission["read"], permission["write"]) == ("alice", True, False)
    changed = run.call(f"Update{kind}Permission", Identity="alice",
                       data={"Read": "true", "Write": "true", "Manage": "true"}, **ids)
    assert (changed["write"], changed["manage"]) == (True, True)
    assert run.call(f"Fetch{kind}Permission", Identity="alice", **ids) == changed
    assert items(run.call(f"List{kind}Permission", **ids)) == [changed]
    run.call(f"Delete{kind}Permission", Identity="alice", **ids)
    run.call(f"Fetch{kind}Permission", Identity="alice", expect_error=(404, 20404), **ids)


def exercise_collection(run, service_sid, kind):
    """Lists and maps, with their items and permissions."""
    ids = {"ServiceSid": service_sid}
    is_map = kind == "SyncMap"
    name = "sessions" if is_map else "queue"
    collection = run.call(f"Create{kind}", data={"UniqueName": name, "Ttl": "10", "CollectionTtl": "7200"}, **ids)
    assert collection["revision"] == "0" and collection["date_expires"] is not None
    assert run.call(f"Fetch{kind}", Sid=name, **ids) == collection
    updated = run.call(f"Update{kind}", Sid=collection["sid"], data={"CollectionTtl": "0"}, **ids)
    assert (updated["revision"], updated["date_expires"]) == ("1", None)
    assert sids(run.call(f"List{kind}", **ids)) == [collection["sid"]]

    parent = {("MapSid" if is_map else "ListSid"): collection["sid"], **ids}
    item_id = "Key" if is_map else "Index"
    keys = ["b", "a", "c"] if is_map else [None, None, None]
    created = []
    for n, key in enumerate(keys):
        data = {"Data": f'{{"n": {n}}}', "ItemTtl": "600"}
        if key:
            data["Key"] = key
        created.append(run.call(f"Create{kind}Item", data=data, **parent))
    addresses = [str(item["key"] if is_map else item["index"]) for item in created]
    if not is_map:
        assert addresses == ["0", "1", "2"]
    first = created[0]
    assert run.call(f"Fetch{kind}Item", **{item_id: addresses[0]}, **parent) == first
    changed = run.call(f"Update{kind}Item", **{item_id: addresses[0]}, data={"Data": '{"n": 10}'},
                       headers={"If-Match": first["revision"]}, **parent)
    assert (changed["revision"], changed["data"]) == ("1", {"n": 10})
    run.call(f"Update{kind}Item", **{item_id: addresses[0]}, data={"Data": "{}"}, headers={"If-Match": "0"},
             expect_error=(412, 54205 if is_map else 54155), **parent)
    ordered = sorted(addresses) if is_map else addresses
    pages = run.walk(f"List{kind}Item", page_size=2, **parent)
    walked = [str(item["key"] if is_map else item["index"]) for page in pages for item in items(page)]
    assert walked == ordered
    backwards = run.call(f"List{kind}Item", params={"Order": "desc", "From": ordered[1], "Bounds": "exclusive"},
                         **parent)
    assert [str(item["key"] if is_map else item["index"]) for item in items(backwards)] == [ordered[0]]
    run.call(f"Delete{kind}Item", **{item_id: addresses[1]}, headers={"If-Match": "0"}, **parent)
    run.call(f"Fetch{kind}Item", **{item_id: addresses[1]},
             expect_error=(404, 54201 if is_map else 54151), **parent)
    exercise_permissions(run, kind, {("MapSid" if is_map else "ListSid"): collection["sid"], **ids})
    run.call(f"Delete{kind}", Sid=collection["sid"], **ids)
    run.call(f"Fetch{kind}", Sid=collection["sid"], expect_error=(404, 54200 if is_map else 54150), **ids)


def exercise_streams(run, service_sid):
    ids = {"ServiceSid": service_sid}
    stream = run.call("CreateSyncStream", data={"UniqueName": "ticker", "Ttl": "60"}, **ids)
    assert stream["date_expires"] is not None and "revision" not in stream
    assert run.call("FetchSyncStream", Sid="ticker", **ids) == stream
    updated = run.call("UpdateSyncStream", Sid=stream["sid"], data={"Ttl": "0"}, **ids)
    assert updated["date_expires"] is None
    assert sids(run.call("ListSyncStream", **ids)) == [stream["sid"]]
    message = run.call("CreateStreamMessage", StreamSid="ticker", data={"Data": '{"price": 42}'}, **ids)
    assert message["data"] == {"price": 42} and message["sid"].startswith("TZ")
    run.call("CreateStreamMessage", StreamSid="ticker", data={}, expect_error=(400, 54251), **ids)
    run.call("DeleteSyncStream", Sid=stream["sid"], **ids)
    run.call("FetchSyncStream", Sid=stream["sid"], expect_error=(404, 54250), **ids)


def test_paging_is_capped_at_100_and_links_follow_the_host(run, twirl):
    run.call("ListDocument", ServiceSid="default", params={"PageSize": 101}, expect_error=(400, 20001))
    page = run.call("ListDocument", ServiceSid="default", params={"PageSize": 100})
    assert page["meta"]["page_size"] == 100
    response = requests.get(f"{twirl.url}/v1/Services", headers={"Host": "sync.ie1.twilio.com"},
                            auth=(twirl.account_sid, twirl.auth_token), timeout=30)
    assert_status(response, 200)
    body = response.json()
    assert body["meta"]["url"].startswith("https://sync.ie1.twilio.com/v1/Services"), body["meta"]
    assert all(s["url"].startswith("https://sync.ie1.twilio.com/v1/Services/IS") for s in body["services"])
