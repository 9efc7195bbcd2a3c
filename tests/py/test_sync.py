"""Sync through the real binary with the official twilio-python library: every operation on services,
documents, lists, maps, streams, their items and permissions; revisions with ETag and If-Match (exactly
one of two racing conditional writes wins); unique names, list indexes never reused, map keys unique and
ordered; the 16 KiB limit; TTL on the emulator's clock; Twilio's error codes and statuses; and Sync data
in fixtures, export and reset."""

import json
import threading

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from conftest import running_fixture_server
from support import assert_status, assert_twilio_error


@pytest.fixture(scope="module")
def sync(client):
    return client.sync.v1


@pytest.fixture(scope="module")
def default(sync):
    return sync.services("default")


def rest_error(call):
    """The TwilioRestException `call` raises."""
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def etag(response):
    """The ETag header of a `*_with_http_info` answer."""
    return {key.lower(): value for key, value in response.headers.items()}["etag"]


def conditional_delete(api, url, revision):
    """DELETE with If-Match through raw HTTP: twilio-python's item deletes drop their `if_match`
    (its generated `_delete` builds the header and then replaces it with an empty one)."""
    return api.delete(url, headers={"If-Match": revision})


def assert_error(call, status, code):
    error = rest_error(call)
    assert (error.status, error.code) == (status, code), (error.status, error.code, error.msg)
    return error


# --- services -----------------------------------------------------------------------------------

def test_the_default_service_exists_on_first_use(fresh_twirl):
    sync = fresh_twirl.client().sync.v1
    assert sync.services.list() == []
    default = sync.services("default").fetch()
    assert (default.unique_name, default.friendly_name) == ("default", "Default Service")
    assert sync.services("default").fetch().sid == default.sid
    assert [s.sid for s in sync.services.list()] == [default.sid]
    assert sync.services("default").documents.create(data={"a": 1}).service_sid == default.sid


def test_any_request_creates_the_default_service(fresh_twirl):
    default = fresh_twirl.client().sync.v1.services("default")
    assert default.sync_maps.create(unique_name="first").service_sid == default.fetch().sid


def test_services_are_created_updated_listed_and_deleted(sync):
    service = sync.services.create(friendly_name="Chat state", acl_enabled=True, webhook_url="https://example.com/h",
                                   reachability_debouncing_enabled=True, reachability_debouncing_window=3000)
    assert service.sid.startswith("IS") and service.unique_name is None
    assert (service.acl_enabled, service.reachability_debouncing_window) == (True, 3000)
    assert service.webhooks_from_rest_enabled is False
    updated = sync.services(service.sid).update(friendly_name="Renamed", webhooks_from_rest_enabled=True)
    assert (updated.friendly_name, updated.webhooks_from_rest_enabled, updated.acl_enabled) == ("Renamed", True, True)
    assert service.sid in [s.sid for s in sync.services.list()]
    assert_error(lambda: sync.services.create(reachability_debouncing_window=999), 400, 20001)
    assert_error(lambda: sync.services.create(webhook_url="ftp://example.com"), 400, 20001)
    assert sync.services(service.sid).delete() is True
    assert_error(lambda: sync.services(service.sid).fetch(), 404, 54050)
    assert_error(lambda: sync.services("IS" + "0" * 32).documents("any").fetch(), 404, 54050)


# --- documents ----------------------------------------------------------------------------------

def test_documents_have_revisions_etags_and_conditional_updates(default):
    created = default.documents.create_with_http_info(unique_name="doc-rev", data={"count": 0, "tags": ["a"]})
    document = created.data
    assert created.status_code == 201 and etag(created) == document.revision == "0"
    assert (document.data, document.created_by, document.date_expires) == ({"count": 0, "tags": ["a"]}, "system", None)
    fetched = default.documents("doc-rev").fetch_with_http_info()
    assert etag(fetched) == "0" and fetched.data.sid == document.sid

    assert_error(lambda: default.documents("doc-rev").update(data={"count": 9}, if_match="7"), 412, 54103)
    assert default.documents(document.sid).fetch().data == {"count": 0, "tags": ["a"]}, "a refused write changes nothing"
    for n in range(1, 18):
        updated = default.documents(document.sid).update(data={"count": n}, if_match=format(n - 1, "x"))
    assert (updated.revision, updated.data) == ("11", {"count": 17})  # hex, like Twilio's revisions
    assert default.documents(document.sid).update(data={"count": 18}).revision == "12"  # no If-Match: last wins


def test_document_names_data_and_errors(default, twirl):
    default.documents.create(unique_name="doc-taken")
    assert_error(lambda: default.documents.create(unique_name="doc-taken"), 409, 54301)
    assert_error(lambda: default.documents.create(unique_name="ET" + "a" * 32), 400, 54302)
    assert_error(lambda: default.documents.create(unique_name="n" * 321), 400, 54302)
    assert default.documents.create(unique_name="n" * 320).unique_name == "n" * 320
    assert_error(lambda: default.documents("doc-missing").fetch(), 404, 54100)
    assert_error(lambda: default.documents("doc-taken").update(ttl=31_536_001), 400, 54011)
    assert_error(lambda: default.documents("doc-taken").update(), 400, 54010)
    assert default.documents.create().data == {}

    at_limit = {"x": "a" * (16 * 1024 - 8)}
    assert len(json.dumps(at_limit, separators=(",", ":"))) == 16 * 1024
    assert default.documents.create(data=at_limit).data == at_limit
    assert_error(lambda: default.documents.create(data={"x": "a" * (16 * 1024 - 7)}), 413, 54006)

    path = "/sync/v1/Services/default/Documents"
    assert_twilio_error(twirl.api.post(path, data={"Data": "{not json"}), 400, 54008)
    assert_twilio_error(twirl.api.post(path, data={"Data": "[1, 2]"}), 400, 54008)
    assert_twilio_error(twirl.api.post(path, data={"Data": "null"}), 400, 54101)
    assert_twilio_error(twirl.api.get(path, params={"PageSize": 101}), 400, 20001)

    document = default.documents.create(unique_name="doc-delete")
    assert default.documents("doc-delete").delete() is True
    assert_error(lambda: default.documents(document.sid).fetch(), 404, 54100)
    # The name is free again.
    assert default.documents.create(unique_name="doc-delete").sid != document.sid


def test_documents_list_in_creation_order_across_pages(sync):
    service = sync.services.create(friendly_name="paging")
    made = [sync.services(service.sid).documents.create(unique_name=f"page-{n}").sid for n in range(7)]
    listed = sync.services(service.sid).documents.list(page_size=3)
    assert [d.sid for d in listed] == made
    page = sync.services(service.sid).documents.page(page_size=3)
    assert len(list(page)) == 3 and page.next_page() is not None


def test_exactly_one_of_two_racing_conditional_writes_wins(default):
    """Both writers read revision R and write with If-Match: R; one must get 200, the other 412."""
    document = default.documents.create(unique_name="race", data={"n": 0})
    for round_ in range(40):
        revision = default.documents(document.sid).fetch().revision
        barrier = threading.Barrier(2)
        outcomes = []

        def writer(who):
            barrier.wait()
            try:
                default.documents(document.sid).update(data={"n": round_, "by": who}, if_match=revision)
                outcomes.append(("won", who))
            except TwilioRestException as error:
                outcomes.append(((error.status, error.code), who))

        threads = [threading.Thread(target=writer, args=(who,)) for who in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results = sorted(outcome for outcome, _ in outcomes if outcome != "won")
        winners = [who for outcome, who in outcomes if outcome == "won"]
        assert len(winners) == 1 and results == [(412, 54103)], outcomes
        final = default.documents(document.sid).fetch()
        assert final.data == {"n": round_, "by": winners[0]}
        assert int(final.revision, 16) == int(revision, 16) + 1


# --- lists --------------------------------------------------------------------------------------

def test_list_items_get_indexes_that_are_never_reused(default):
    sync_list = default.sync_lists.create(unique_name="queue-indexes")
    items = default.sync_lists("queue-indexes").sync_list_items
    created = [items.create(data={"job": n}) for n in range(3)]
    assert [i.index for i in created] == [0, 1, 2]
    assert created[0].list_sid == sync_list.sid and created[0].revision == "0"
    assert items(2).delete() is True
    assert items.create(data={"job": 3}).index == 3
    assert [i.index for i in items.list()] == [0, 1, 3]
    assert default.sync_lists(sync_list.sid).fetch().revision == "5"  # four creates and a delete
    assert_error(lambda: items(2).fetch(), 404, 54151)
    assert_error(lambda: items("two").fetch(), 404, 54151)
    assert_error(lambda: default.sync_lists("no-such-list").sync_list_items(0).fetch(), 404, 54150)


def test_list_item_filters_order_and_paging(default):
    default.sync_lists.create(unique_name="queue-filters")
    items = default.sync_lists("queue-filters").sync_list_items
    for n in range(6):
        items.create(data={"n": n})
    assert [i.index for i in items.list(order="desc")] == [5, 4, 3, 2, 1, 0]
    assert [i.index for i in items.list(from_="2")] == [2, 3, 4, 5]
    assert [i.index for i in items.list(from_="2", bounds="exclusive")] == [3, 4, 5]
    assert [i.index for i in items.list(from_="3", order="desc", bounds="exclusive")] == [2, 1, 0]
    assert [i.index for i in items.list(from_="1", page_size=2)] == [1, 2, 3, 4, 5]  # filters kept across pages
    assert [i.index for i in items.list(order="desc", limit=4, page_size=3)] == [5, 4, 3, 2]


def test_list_items_are_updated_and_deleted_conditionally(default, twirl):
    default.sync_lists.create(unique_name="queue-cas")
    items = default.sync_lists("queue-cas").sync_list_items
    item = items.create(data={"state": "new"})
    tagged = items(item.index).update_with_http_info(data={"state": "taken"}, if_match="0")
    assert etag(tagged) == tagged.data.revision == "1"
    assert_error(lambda: items(item.index).update(data={"state": "again"}, if_match="0"), 412, 54155)
    assert_twilio_error(conditional_delete(twirl.api, item.url, "0"), 412, 54155)
    assert items(item.index).fetch().data == {"state": "taken"}
    assert_status(conditional_delete(twirl.api, item.url, "1"), 204)
    assert_error(lambda: items(item.index).update(data={}), 404, 54151)
    path = "/sync/v1/Services/default/Lists/queue-cas/Items"
    assert_twilio_error(twirl.api.post(path, data={}), 400, 54156)
    assert_twilio_error(twirl.api.post(path, data={"Data": "null"}), 400, 54156)
    assert_twilio_error(twirl.api.post(f"{path}/0", data={"CollectionTtl": "5"}), 400, 54010)


def test_a_list_works_as_a_queue(default, twirl):
    """Producers append, a consumer takes the oldest item with a conditional delete."""
    default.sync_lists.create(unique_name="jobs")
    queue = default.sync_lists("jobs").sync_list_items
    for n in range(5):
        queue.create(data={"job": n})
    taken = []
    while True:
        head = queue.list(limit=1)
        if not head:
            break
        assert_status(conditional_delete(twirl.api, head[0].url, head[0].revision), 204)
        taken.append(head[0].data["job"])
    assert taken == [0, 1, 2, 3, 4]
    assert queue.create(data={"job": 5}).index == 5


# --- maps ---------------------------------------------------------------------------------------

def test_map_keys_are_unique_and_ordered_lexicographically(default):
    sync_map = default.sync_maps.create(unique_name="map-order")
    items = default.sync_maps("map-order").sync_map_items
    for key in ["banana", "apple", "cherry", "Zebra", "apple pie"]:
        item = items.create(key=key, data={"k": key})
    assert item.map_sid == sync_map.sid and item.key == "apple pie"
    assert_error(lambda: items.create(key="apple", data={}), 409, 54208)
    assert [i.key for i in items.list()] == ["Zebra", "apple", "apple pie", "banana", "cherry"]
    assert [i.key for i in items.list(order="desc", from_="banana")] == ["banana", "apple pie", "apple", "Zebra"]
    assert [i.key for i in items.list(from_="apple", bounds="exclusive", page_size=1)] == ["apple pie", "banana",
                                                                                          "cherry"]
    assert items("apple pie").fetch().data == {"k": "apple pie"}  # a key with a space, in the path
    assert_error(lambda: items.create(key="k" * 321, data={}), 400, 54209)
    assert_error(lambda: items("durian").fetch(), 404, 54201)
    assert_error(lambda: default.sync_maps("no-such-map").fetch(), 404, 54200)


def test_a_map_works_as_a_session_store(default, twirl):
    default.sync_maps.create(unique_name="sessions")
    sessions = default.sync_maps("sessions").sync_map_items
    sessions.create(key="+15551230001", data={"step": "greeted"})
    current = sessions("+15551230001").fetch()
    advanced = sessions("+15551230001").update(data={"step": "asked-name", "name": None}, if_match=current.revision)
    assert (advanced.revision, advanced.data) == ("1", {"step": "asked-name", "name": None})
    assert_error(lambda: sessions("+15551230001").update(data={"step": "x"}, if_match=current.revision), 412, 54205)
    assert_twilio_error(conditional_delete(twirl.api, advanced.url, "0"), 412, 54205)
    assert sessions("+15551230001").delete() is True
    assert_error(lambda: sessions("+15551230001").fetch(), 404, 54201)
    path = "/sync/v1/Services/default/Maps/sessions/Items"
    assert_twilio_error(twirl.api.post(path, data={"Data": "{}"}), 400, 54209)
    assert_twilio_error(twirl.api.post(path, data={"Key": "k"}), 400, 54206)


# --- streams and permissions ---------------------------------------------------------------------

def test_streams_take_messages(default):
    stream = default.sync_streams.create(unique_name="ticker")
    assert stream.sid.startswith("TO") and stream.links["messages"].endswith(f"/Streams/{stream.sid}/Messages")
    message = default.sync_streams("ticker").stream_messages.create(data={"price": 10})
    assert message.sid.startswith("TZ") and message.data == {"price": 10}
    assert_error(lambda: default.sync_streams("ticker").stream_messages.create(data={"x": "a" * 4096}), 413, 54006)
    assert default.sync_streams(stream.sid).update(ttl=60).date_expires is not None
    assert stream.sid in [s.sid for s in default.sync_streams.list()]
    assert default.sync_streams(stream.sid).delete() is True
    assert_error(lambda: default.sync_streams(stream.sid).fetch(), 404, 54250)


def test_permissions_are_set_per_identity(default):
    document = default.documents.create(unique_name="acl-doc")
    permissions = default.documents(document.sid).document_permissions
    granted = permissions("bob").update(read=True, write=False, manage=False)
    assert (granted.identity, granted.read, granted.write, granted.document_sid) == ("bob", True, False, document.sid)
    assert permissions("bob").update(read=True, write=True, manage=True).manage is True
    assert [(p.identity, p.write) for p in permissions.list()] == [("bob", True)]
    assert permissions("bob").delete() is True
    assert_error(lambda: permissions("bob").fetch(), 404, 20404)
    sync_map = default.sync_maps.create(unique_name="acl-map")
    assert default.sync_maps(sync_map.sid).sync_map_permissions("eve").update(
        read=True, write=True, manage=False).map_sid == sync_map.sid


# --- TTL ----------------------------------------------------------------------------------------

def test_ttl_expires_on_the_emulator_clock(fresh_twirl):
    default = fresh_twirl.client().sync.v1.services("default")
    document = default.documents.create(unique_name="brief", data={"a": 1}, ttl=60)
    assert document.date_expires is not None
    forever = default.documents.create(unique_name="forever", ttl=60)
    default.documents("forever").update(ttl=0)
    default.sync_lists.create(unique_name="cart", collection_ttl=3600)
    items = default.sync_lists("cart").sync_list_items
    items.create(data={"sku": 1}, item_ttl=30)
    items.create(data={"sku": 2})
    default.sync_maps.create(unique_name="otp")
    otp = default.sync_maps("otp").sync_map_items
    otp.create(key="+15551230002", data={"code": "1234"}, ttl=300)
    otp.create(key="+15551230003", data={"code": "5678"}, item_ttl=300, collection_ttl=7200)

    swept = fresh_twirl.api.advance_clock(61)["swept"]
    assert swept["sync"] == 2  # the document and the first list item
    assert_error(lambda: default.documents(document.sid).fetch(), 404, 54100)
    assert default.documents("forever").fetch().date_expires is None
    assert [i.data for i in items.list()] == [{"sku": 2}]
    assert default.documents.create(unique_name="brief").sid != document.sid, "an expired name is free again"

    fresh_twirl.api.advance_clock(300)
    assert otp.list() == []
    fresh_twirl.api.advance_clock(3600)
    assert_error(lambda: default.sync_lists("cart").fetch(), 404, 54150)
    fresh_twirl.api.advance_clock(7200)
    assert_error(lambda: default.sync_maps("otp").fetch(), 404, 54200)
    assert fresh_twirl.api.advance_clock(1)["swept"]["sync"] == 0


# --- hosts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["sync.twilio.com", "sync.dublin.ie1.twilio.com"])
def test_sync_hosts_are_served_with_urls_on_that_host(twirl, host):
    response = requests.get(f"{twirl.url}/v1/Services/default", headers={"Host": host},
                            auth=(twirl.account_sid, twirl.auth_token), timeout=30)
    assert_status(response, 200)
    assert response.json()["url"].startswith(f"https://{host}/v1/Services/IS")


def test_credentials_are_required(twirl):
    response = requests.get(f"{twirl.url}/sync/v1/Services", timeout=30)
    assert_twilio_error(response, 401, 20003)
    assert_twilio_error(twirl.api.get("/sync/v1/Nowhere"), 404, 20404)
    assert_twilio_error(twirl.api.request("PUT", "/sync/v1/Services/default"), 405, 20004)


# --- fixtures, export, reset --------------------------------------------------------------------

SYNC_FIXTURE = {
    "sync_services": [{
        "unique_name": "default",
        "documents": [{"unique_name": "settings", "data": {"greeting": "hola", "retries": 3}},
                      {"unique_name": "flash", "data": {"note": "soon gone"}, "ttl": 120}],
        "lists": [{"unique_name": "backlog", "items": [{"data": {"task": "a"}}, {"data": {"task": "b"}}]}],
        "maps": [{"unique_name": "users", "items": [{"key": "ada", "data": {"role": "admin"}}],
                  "permissions": [{"identity": "ada", "read": True, "write": True}]}],
        "streams": [{"unique_name": "events"}],
    }, {
        "friendly_name": "second", "acl_enabled": True,
        "documents": [{"data": {"other": True}}],
    }],
}


@pytest.fixture
def sync_fixture_server(tmp_path):
    fixture = tmp_path / "sync.fixture.json"
    fixture.write_text(json.dumps(SYNC_FIXTURE))
    yield from running_fixture_server(tmp_path, [fixture], account_sid="AC" + "1" * 32, auth_token="2" * 32)


def test_fixtures_seed_documents_lists_and_maps(sync_fixture_server):
    default = sync_fixture_server.client().sync.v1.services("default")
    assert default.documents("settings").fetch().data == {"greeting": "hola", "retries": 3}
    assert default.documents("flash").fetch().date_expires is not None
    backlog = default.sync_lists("backlog")
    assert [(i.index, i.data) for i in backlog.sync_list_items.list()] == [(0, {"task": "a"}), (1, {"task": "b"})]
    assert backlog.fetch().revision == "2"
    assert default.sync_maps("users").sync_map_items("ada").fetch().data == {"role": "admin"}
    assert default.sync_maps("users").sync_map_permissions("ada").fetch().write is True
    assert default.sync_streams("events").fetch().unique_name == "events"


def test_export_loads_back_unchanged_and_reset_restores_the_fixture(sync_fixture_server, tmp_path):
    api, client = sync_fixture_server.api, sync_fixture_server.client()
    default = client.sync.v1.services("default")
    default.documents("settings").update(data={"greeting": "hello"})
    default.sync_lists("backlog").sync_list_items(1).delete()
    default.sync_lists("backlog").sync_list_items.create(data={"task": "c"}, item_ttl=600)
    default.sync_maps("users").sync_map_items.create(key="grace", data={"role": "dev"})
    exported = api.fetch("/_twirl/export")
    before = sync_bodies(api)

    copy = tmp_path / "export"
    copy.mkdir()
    (copy / "exported.json").write_text(json.dumps(exported))
    credentials = {"account_sid": sync_fixture_server.account_sid, "auth_token": sync_fixture_server.auth_token}
    for server in running_fixture_server(copy, [copy / "exported.json"], **credentials):
        assert sync_bodies(server.api, origin=(server.url, sync_fixture_server.url)) == before
        items = server.client().sync.v1.services("default").sync_lists("backlog").sync_list_items
        assert items.create(data={"task": "d"}).index == 3, "indexes are never reused after a reload"
        assert server.api.fetch("/_twirl/export")["sync_services"] != exported["sync_services"]

    assert_status(requests.post(f"{sync_fixture_server.url}/_twirl/reset", timeout=30), 200)
    assert default.documents("settings").fetch().data == {"greeting": "hola", "retries": 3}
    assert [i.data["task"] for i in default.sync_lists("backlog").sync_list_items.list()] == ["a", "b"]
    assert_error(lambda: default.sync_maps("users").sync_map_items("grace").fetch(), 404, 54201)


def sync_bodies(api, origin=None):
    """Every Sync resource the API lists, with URLs made relative to the server (`origin` swaps a
    server's URL for another's, to compare two servers)."""
    out = {}
    for service in api.list_all("/sync/v1/Services"):
        sid = service["sid"]
        for kind in ("Documents", "Lists", "Maps", "Streams"):
            for obj in api.list_all(f"/sync/v1/Services/{sid}/{kind}"):
                out[obj["url"]] = obj
                if kind in ("Lists", "Maps"):
                    for item in api.list_all(f"/sync/v1/Services/{sid}/{kind}/{obj['sid']}/Items"):
                        out[item["url"]] = item
                if kind != "Streams":
                    for permission in api.list_all(f"/sync/v1/Services/{sid}/{kind}/{obj['sid']}/Permissions"):
                        out[permission["url"]] = permission
        out[service["url"]] = service
    text = json.dumps(out, sort_keys=True)
    if origin:
        text = text.replace(origin[0], origin[1])
    return json.loads(text)


def test_fixture_errors_name_the_field(tmp_path):
    from conftest import run_twirl
    bad = {"sync_services": [{"unique_name": "default", "maps": [{"items": [{"data": {"x": 1}}]}]}]}
    fixture = tmp_path / "bad.json"
    fixture.write_text(json.dumps(bad))
    result = run_twirl("serve", "--port", "0", "--ephemeral", "--fixture", fixture, cwd=tmp_path, timeout=30)
    assert result.returncode != 0
    assert "sync_services[0].maps[0].items[0]" in result.stderr + result.stdout
