"""Functions that use `Runtime.getSync()`, served by the real binary from a live project, with real Node
workers whose twilio clients reach twirl unchanged: a visit counter with If-Match retries under 30
concurrent requests, a list used as a queue by concurrent consumers, a map used as a session store whose
sessions expire when the clock moves, a document that expires, and `serviceName`."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import running_project_server
from support import assert_status, write_function_project

# A private helper the functions share: the object named `name`, created on first use. Two
# invocations may race to create it; the loser (54301) uses the winner's.
HELPERS = r"""
exports.ensure = async (collection, name, options = {}) => {
  try {
    return await collection(name).fetch();
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  try {
    return await collection.create({ uniqueName: name, ...options });
  } catch (error) {
    if (error.code !== 54301) throw error;
    return collection(name).fetch();
  }
};
"""

VISIT = r"""
const { ensure } = require(Runtime.getFunctions()['sync-helpers'].path);
exports.handler = async (context, event, callback) => {
  const documents = Runtime.getSync().documents;
  for (let attempt = 1; ; attempt++) {
    const visits = await ensure(documents, 'visits', { data: { count: 0 } });
    try {
      const updated = await documents(visits.sid).update({ data: { count: visits.data.count + 1 }, ifMatch: visits.revision });
      return callback(null, { count: updated.data.count, attempts: attempt, revision: updated.revision });
    } catch (error) {
      if (error.status !== 412 || error.code !== 54103) throw error;
    }
  }
};
"""

ENQUEUE = r"""
const { ensure } = require(Runtime.getFunctions()['sync-helpers'].path);
exports.handler = async (context, event, callback) => {
  const sync = Runtime.getSync();
  const jobs = await ensure(sync.lists, 'jobs');
  const item = await sync.lists(jobs.sid).syncListItems.create({ data: { job: event.job } });
  callback(null, { index: item.index });
};
"""

# Takes the oldest job; when another consumer took it first (its conditional delete wins), the next.
DEQUEUE = r"""
exports.handler = async (context, event, callback) => {
  const items = Runtime.getSync().lists('jobs').syncListItems;
  for (;;) {
    const [head] = await items.list({ limit: 1 });
    if (!head) return callback(null, { empty: true });
    try {
      await items(head.index).remove({ ifMatch: head.revision });
      return callback(null, { job: head.data.job, index: head.index });
    } catch (error) {
      if (error.status !== 404 && error.status !== 412) throw error;
    }
  }
};
"""

# A conversation kept per sender in a map; a session lasts an hour after its last message.
SESSION = r"""
const { ensure } = require(Runtime.getFunctions()['sync-helpers'].path);
exports.handler = async (context, event, callback) => {
  const sync = Runtime.getSync();
  await ensure(sync.maps, 'sessions');
  const sessions = sync.maps('sessions').syncMapItems;
  let session = null;
  try {
    session = await sessions(event.From).fetch();
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  if (!session) {
    await sessions.create({ key: event.From, data: { step: 'asked-name' }, itemTtl: 3600 });
    return callback(null, "What's your name?");
  }
  if (session.data.step === 'asked-name') {
    await sessions(event.From).update({ data: { step: 'known', name: event.Body }, itemTtl: 3600, ifMatch: session.revision });
    return callback(null, `Nice to meet you, ${event.Body}`);
  }
  await sessions(event.From).update({ data: session.data, itemTtl: 3600 });
  callback(null, `Welcome back, ${session.data.name}`);
};
"""

REMEMBER = r"""
exports.handler = async (context, event, callback) => {
  const documents = Runtime.getSync().documents;
  if (event.value) {
    const note = await documents.create({ data: { value: event.value }, ttl: Number(event.ttl) });
    return callback(null, { sid: note.sid, expires: note.dateExpires });
  }
  try {
    callback(null, { value: (await documents(event.sid).fetch()).data.value });
  } catch (error) {
    callback(null, { forgotten: [error.status, error.code] });
  }
};
"""

NAMED = r"""
exports.handler = async (context, event, callback) => {
  const sync = Runtime.getSync({ serviceName: event.service });
  const map = await sync.maps.create({});
  callback(null, { service: map.serviceSid, viaDefault: (await Runtime.getSync().fetch()).sid });
};
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    project = write_function_project(tmp_path_factory.mktemp("projects") / "sync", {
        "sync-helpers.private": HELPERS, "visit": VISIT, "enqueue": ENQUEUE, "dequeue": DEQUEUE,
        "session": SESSION, "remember": REMEMBER, "named": NAMED,
    })
    yield from running_project_server(tmp_path_factory.mktemp("twirl"), project)


def call(site, path, **params):
    response = requests.get(f"{site.url}{path}", params=params, timeout=60)
    assert_status(response, 200)
    return response.json() if response.headers.get("Content-Type", "").startswith("application/json") \
        else response.text


def test_thirty_concurrent_visits_are_all_counted(site):
    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(lambda _: call(site, "/visit"), range(30)))
    assert sorted(a["count"] for a in answers) == list(range(1, 31)), "every write counted once"
    assert sum(a["attempts"] for a in answers) >= 30
    document = site.api.fetch("/sync/v1/Services/default/Documents/visits")
    assert document["data"] == {"count": 30}
    assert int(document["revision"], 16) == 30  # created at 0, one revision per counted visit


def test_a_list_is_a_queue_shared_by_concurrent_consumers(site):
    with ThreadPoolExecutor(max_workers=10) as pool:
        indexes = list(pool.map(lambda n: call(site, "/enqueue", job=f"job-{n}")["index"], range(10)))
    assert sorted(indexes) == list(range(10))
    with ThreadPoolExecutor(max_workers=10) as pool:
        taken = list(pool.map(lambda _: call(site, "/dequeue"), range(10)))
    assert sorted(t["job"] for t in taken) == sorted(f"job-{n}" for n in range(10)), "each job taken once"
    assert call(site, "/dequeue") == {"empty": True}
    assert call(site, "/enqueue", job="late")["index"] == 10, "indexes are never reused"


def test_a_map_keeps_sessions_until_they_expire(site):
    say = lambda sender, body: call(site, "/session", From=sender, Body=body)  # noqa: E731
    assert say("+15551110001", "hi") == "What's your name?"
    assert say("+15551110002", "hello") == "What's your name?"
    assert say("+15551110001", "Ada") == "Nice to meet you, Ada"
    assert say("+15551110002", "Grace") == "Nice to meet you, Grace"
    assert say("+15551110001", "again") == "Welcome back, Ada"
    item = site.api.fetch("/sync/v1/Services/default/Maps/sessions/Items/+15551110001")
    assert item["data"] == {"step": "known", "name": "Ada"} and item["date_expires"] is not None
    site.api.advance_clock(3601)
    assert say("+15551110001", "back") == "What's your name?"


def test_documents_expire_when_the_clock_moves(site):
    note = call(site, "/remember", value="secret", ttl="120")
    assert note["expires"] is not None
    assert call(site, "/remember", sid=note["sid"]) == {"value": "secret"}
    site.api.advance_clock(121)
    assert call(site, "/remember", sid=note["sid"]) == {"forgotten": [404, 54100]}


def test_service_name_addresses_another_service(site):
    other = site.api.create("/sync/v1/Services", {"FriendlyName": "other"})
    answer = call(site, "/named", service=other["sid"])
    default = site.api.fetch("/sync/v1/Services/default")
    assert answer == {"service": other["sid"], "viaDefault": default["sid"]}
    assert len(site.api.list_all(f"/sync/v1/Services/{other['sid']}/Maps")) == 1
