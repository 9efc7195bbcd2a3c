// Every operation of the Sync API through twilio-node, as an application would call it (no base URL:
// run under `twirl exec`, whose preload sends sync.twilio.com to twirl). Every request and answer is
// recorded through the client's own request client and printed as JSON on the last line, with the
// values the test checks, so the test can check each answer against the OpenAPI document.
'use strict';

const { client, exchanges, refused } = require('./recorder');
const sync = client.sync.v1;

async function permissions(accessor) {
  const set = await accessor('alice').update({ read: true, write: false, manage: false });
  await accessor('alice').update({ read: true, write: true, manage: true });
  const fetched = await accessor('alice').fetch();
  const listed = await accessor.list();
  await accessor('alice').remove();
  return { set: [set.read, set.write], fetched: [fetched.write, fetched.manage], listed: listed.length };
}

async function collection(service, kind) {
  const isMap = kind === 'syncMaps';
  const items = isMap ? 'syncMapItems' : 'syncListItems';
  const created = await service[kind].create({ uniqueName: `node-${kind}`, collectionTtl: 3600 });
  await service[kind](created.uniqueName).fetch();
  const updated = await service[kind](created.sid).update({ collectionTtl: 0 });
  const listed = await service[kind].list();
  const parent = service[kind](created.sid);
  const made = [];
  for (const key of ['b', 'a', 'c']) {
    made.push(await parent[items].create(isMap ? { key, data: { key } } : { data: { key } }));
  }
  const address = (item) => (isMap ? item.key : item.index);
  const first = made[0];
  await parent[items](address(first)).fetch();
  const changed = await parent[items](address(first)).update({ data: { changed: true }, ifMatch: first.revision });
  const stale = await refused(parent[items](address(first)).update({ data: {}, ifMatch: first.revision }));
  const staleDelete = await refused(parent[items](address(made[1])).remove({ ifMatch: '5' }));
  await parent[items](address(made[1])).remove({ ifMatch: made[1].revision });
  const ordered = (await parent[items].list({ order: 'desc', pageSize: 1 })).map(address);
  const from = (await parent[items].list({ from: String(address(made[2])), bounds: 'exclusive' })).map(address);
  const permissionsAccessor = isMap ? parent.syncMapPermissions : parent.syncListPermissions;
  const acl = await permissions(permissionsAccessor);
  await parent.remove();
  const gone = await refused(parent.fetch());
  return {
    revision: [created.revision, updated.revision],
    expires: [created.dateExpires !== null, updated.dateExpires],
    listed: listed.length,
    addresses: made.map(address),
    changed: [changed.revision, changed.data],
    stale,
    staleDelete,
    ordered,
    from,
    acl,
    gone,
  };
}

(async () => {
  const results = {};
  const defaultService = await sync.services('default').fetch();
  const service = await sync.services.create({ friendlyName: 'node', aclEnabled: true });
  const updatedService = await sync.services(service.sid).update({ friendlyName: 'node renamed' });
  results.services = {
    default: [defaultService.uniqueName, defaultService.url],
    listed: (await sync.services.list()).map((s) => s.sid).includes(service.sid),
    renamed: updatedService.friendlyName,
  };
  const s = sync.services(service.sid);

  const document = await s.documents.create({ uniqueName: 'node-doc', data: { count: 0 }, ttl: 60 });
  const byName = await s.documents('node-doc').fetch();
  const bumped = await s.documents(document.sid).update({ data: { count: 1 }, ifMatch: document.revision });
  const staleDocument = await refused(s.documents(document.sid).update({ data: { count: 2 }, ifMatch: '0' }));
  const documents = await s.documents.list({ pageSize: 1 });
  const documentAcl = await permissions(s.documents(document.sid).documentPermissions);
  await s.documents(document.sid).remove();
  results.documents = {
    created: [document.revision, document.data, document.dateExpires !== null],
    byName: byName.sid === document.sid,
    bumped: [bumped.revision, bumped.data],
    stale: staleDocument,
    listed: documents.length,
    acl: documentAcl,
    gone: await refused(s.documents(document.sid).fetch()),
  };

  results.lists = await collection(s, 'syncLists');
  results.maps = await collection(s, 'syncMaps');

  const stream = await s.syncStreams.create({ uniqueName: 'node-stream', ttl: 60 });
  await s.syncStreams('node-stream').fetch();
  const streamUpdated = await s.syncStreams(stream.sid).update({ ttl: 0 });
  const streams = await s.syncStreams.list();
  const message = await s.syncStreams(stream.sid).streamMessages.create({ data: { hello: 'world' } });
  await s.syncStreams(stream.sid).remove();
  results.streams = {
    expires: [stream.dateExpires !== null, streamUpdated.dateExpires],
    listed: streams.length,
    message: [message.sid.slice(0, 2), message.data],
  };

  // The runtime's aliases name the same accessors.
  results.aliases = typeof s.syncMaps === 'function' && typeof s.syncLists === 'function';
  await sync.services(service.sid).remove();
  results.serviceGone = await refused(sync.services(service.sid).fetch());
  console.log(JSON.stringify({ results, exchanges }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
