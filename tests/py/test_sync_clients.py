"""Both official helper libraries drive every operation of the Sync OpenAPI document, and every answer
they get is checked against the document: twilio-node unchanged under `twirl exec` (its requests for
sync.twilio.com redirected to twirl, answers carrying sync.twilio.com URLs), twilio-python with its Sync
domain pointed at twirl."""

import json

import pytest
from twilio.rest import Client

from conftest import REPO_ROOT, SYNC_SPEC_PATH, run_twirl
from spec_check import Spec
from support import ExchangeRecorder, refused

NODE_SCRIPT = REPO_ROOT / "tests" / "py" / "clients" / "sync_every_operation.js"


@pytest.fixture(scope="module")
def spec():
    if not SYNC_SPEC_PATH.is_file():
        pytest.skip(f"the Sync OpenAPI document is not at {SYNC_SPEC_PATH}")
    return Spec(SYNC_SPEC_PATH)


def test_twilio_node_drives_every_sync_operation(spec, twilio_node, tmp_path):
    result = run_twirl("exec", "--", "node", NODE_SCRIPT, cwd=tmp_path, env={"NODE_PATH": str(twilio_node)},
                       timeout=240)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    results, exchanges = seen["results"], seen["exchanges"]

    assert results["services"]["default"][0] == "default"
    assert results["services"]["default"][1].startswith("https://sync.twilio.com/v1/Services/IS")
    assert (results["services"]["listed"], results["services"]["renamed"]) == (True, "node renamed")
    documents = results["documents"]
    assert documents["created"] == ["0", {"count": 0}, True]
    assert documents["bumped"] == ["1", {"count": 1}]
    assert documents["stale"] == [412, 54103] and documents["gone"] == [404, 54100]
    for kind, codes in (("lists", (54155, 54150)), ("maps", (54205, 54200))):
        found = results[kind]
        assert found["revision"] == ["0", "1"] and found["expires"] == [True, None], found
        assert found["changed"] == ["1", {"changed": True}], found
        assert found["stale"] == [412, codes[0]] and found["staleDelete"] == [412, codes[0]], found
        assert found["gone"] == [404, codes[1]], found
        assert found["acl"] == {"set": [True, False], "fetched": [True, True], "listed": 1}, found
    assert results["lists"]["addresses"] == [0, 1, 2]
    assert results["lists"]["ordered"] == [2, 0] and results["lists"]["from"] == []
    assert results["maps"]["ordered"] == ["c", "b"] and results["maps"]["from"] == []
    assert results["streams"]["message"] == ["TZ", {"hello": "world"}]
    assert results["aliases"] is True and results["serviceGone"] == [404, 54050]

    account_sid = exchanges[0][3]["account_sid"]
    covered = spec.check_exchanges(exchanges, "https://sync.twilio.com", account_sid)
    assert covered == set(spec.operations), f"not covered: {sorted(set(spec.operations) - covered)}"


def test_twilio_python_drives_every_sync_operation(spec, twirl):
    recorder = ExchangeRecorder()
    client = Client(twirl.account_sid, twirl.auth_token, http_client=recorder, environment={})
    client.sync.base_url = twirl.url + "/sync"
    sync = client.sync.v1

    assert sync.services("default").fetch().unique_name == "default"
    service = sync.services.create(friendly_name="python")
    sync.services(service.sid).update(reachability_webhooks_enabled=True)
    assert service.sid in [s.sid for s in sync.services.list()]
    s = sync.services(service.sid)

    document = s.documents.create(unique_name="py-doc", data={"v": 1})
    s.documents("py-doc").fetch()
    assert s.documents(document.sid).update(data={"v": 2}, if_match="0").revision == "1"
    assert len(s.documents.list()) == 1
    exercise_permissions(s.documents(document.sid).document_permissions)
    s.documents(document.sid).delete()

    for kind, items, permissions in (("sync_lists", "sync_list_items", "sync_list_permissions"),
                                     ("sync_maps", "sync_map_items", "sync_map_permissions")):
        is_map = kind == "sync_maps"
        collection = getattr(s, kind).create(unique_name=f"py-{kind}", ttl=60)
        getattr(s, kind)(collection.sid).fetch()
        assert getattr(s, kind)(collection.sid).update(collection_ttl=0).date_expires is None
        assert len(getattr(s, kind).list()) == 1
        parent = getattr(s, kind)(collection.sid)
        item = getattr(parent, items).create(**({"key": "k"} if is_map else {}), data={"n": 1})
        address = item.key if is_map else item.index
        getattr(parent, items)(address).fetch()
        assert getattr(parent, items)(address).update(data={"n": 2}, if_match="0").revision == "1"
        assert refused(lambda: getattr(parent, items)(address).update(data={}, if_match="0"))[0] == 412
        assert len(getattr(parent, items).list(order="desc")) == 1
        getattr(parent, items)(address).delete()
        exercise_permissions(getattr(parent, permissions))
        parent.delete()

    stream = s.sync_streams.create(unique_name="py-stream")
    s.sync_streams("py-stream").fetch()
    s.sync_streams(stream.sid).update(ttl=30)
    assert len(s.sync_streams.list()) == 1
    assert s.sync_streams(stream.sid).stream_messages.create(data={"m": 1}).data == {"m": 1}
    s.sync_streams(stream.sid).delete()
    sync.services(service.sid).delete()

    covered = spec.check_exchanges(recorder.exchanges, twirl.url + "/sync", twirl.account_sid)
    assert covered == set(spec.operations), f"not covered: {sorted(set(spec.operations) - covered)}"


def exercise_permissions(accessor):
    accessor("carol").update(read=True, write=True, manage=False)
    assert accessor("carol").fetch().write is True
    assert [p.identity for p in accessor.list()] == ["carol"]
    accessor("carol").delete()
