// Every Verify and Lookup operation twirl serves, through twilio-node as an application would call
// them (no base URL: run under `twirl exec`, whose preload sends verify.twilio.com and
// lookups.twilio.com to twirl). Every request and answer is recorded through the client's own request
// client and printed as JSON on the last line with the values the test checks, so the test can check
// each answer against the OpenAPI documents. The code is read from the handset's inbox.
'use strict';

const { client, exchanges, refused } = require('./recorder');
const HANDSET = '+14155550160';

async function inboxCode() {
  const response = await fetch(`${process.env.TWIRL_URL}/_twirl/phone/handsets/${encodeURIComponent(HANDSET)}/messages`);
  const { messages } = await response.json();
  return messages[messages.length - 1].body.match(/code is: (\d+)/)[1];
}

async function main() {
  const verify = client.verify.v2;
  const created = await verify.services.create({ friendlyName: 'Node', codeLength: 8, lookupEnabled: true });
  const fetched = await verify.services(created.sid).fetch();
  const updated = await verify.services(created.sid).update({ friendlyName: 'Node renamed', doNotShareWarningEnabled: true });
  const listed = (await verify.services.list()).map((s) => s.sid);
  const service = verify.services(created.sid);

  const started = await service.verifications.create({ to: HANDSET, channel: 'sms' });
  const code = await inboxCode();
  const again = await service.verifications(started.sid).fetch();
  const wrong = await service.verificationChecks.create({ to: HANDSET, code: code === '00000000' ? '11111111' : '00000000' });
  const right = await service.verificationChecks.create({ verificationSid: started.sid, code });
  const gone = await refused(service.verifications(started.sid).fetch());

  const second = await service.verifications.create({ to: HANDSET, channel: 'call' });
  const canceled = await service.verifications(second.sid).update({ status: 'canceled' });

  const lookup = await client.lookups.v2.phoneNumbers('(415) 992-9960').fetch({
    countryCode: 'US', fields: 'line_type_intelligence,caller_name,sms_pumping_risk',
  });
  const invalid = await client.lookups.v2.phoneNumbers('+141599299600').fetch();

  const removed = await verify.services(created.sid).remove();
  const missing = await refused(verify.services(created.sid).fetch());

  const results = {
    services: { codeLength: fetched.codeLength, renamed: updated.friendlyName, listed: listed.includes(created.sid),
      url: created.url, removed, missing },
    verification: { sid: started.sid, status: started.status, codeLength: code.length, fetched: again.status,
      carrier: started.lookup.carrier.type, wrong: [wrong.status, wrong.valid], right: [right.status, right.valid], gone },
    second: { channel: second.channel, canceled: canceled.status },
    lookup: { phone: lookup.phoneNumber, national: lookup.nationalFormat, type: lookup.lineTypeIntelligence.type,
      callerType: lookup.callerName.callerType, risk: lookup.smsPumpingRisk.smsPumpingRiskScore,
      invalid: [invalid.valid, invalid.validationErrors] },
  };
  console.log(JSON.stringify({ results, exchanges }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
