// Every operation of the Messages, Media and IncomingPhoneNumbers APIs through twilio-node, as an
// application would call them (no base URL: run under `twirl exec`, whose preload sends
// api.twilio.com to twirl). Every request and answer is recorded through the client's own request
// client and printed as JSON on the last line, with the values the test checks.
'use strict';

const { client, exchanges, refused } = require('./recorder');
const HANDSET = '+14155550142';

// Delivery completes within milliseconds; a message is fetched until it has.
async function delivered(sid) {
  for (let i = 0; i < 100; i++) {
    const message = await client.messages(sid).fetch();
    if (message.status === 'delivered') return message;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${sid} was not delivered`);
}

(async () => {
  const bought = await client.incomingPhoneNumbers.create({ phoneNumber: '+12065550177', smsUrl: '/sms', friendlyName: 'node' });
  const byArea = await client.incomingPhoneNumbers.create({ areaCode: '312', voiceUrl: 'https://example-1234.twil.io/voice' });
  const filtered = await client.incomingPhoneNumbers.list({ phoneNumber: '555017' });
  const fetchedNumber = await client.incomingPhoneNumbers(bought.sid).fetch();
  const updatedNumber = await client.incomingPhoneNumbers(bought.sid).update({ smsMethod: 'GET', smsFallbackUrl: 'http://localhost:9/fallback' });
  const badUrl = await refused(client.incomingPhoneNumbers(bought.sid).update({ smsUrl: 'ftp://nope' }));

  const sent = await client.messages.create({ to: HANDSET, from: bought.phoneNumber, body: 'from node' });
  const withMedia = await client.messages.create({
    to: HANDSET, from: bought.phoneNumber, body: 'pictures', mediaUrl: ['https://example.com/a.png', 'https://example.com/b.gif'],
  });
  await delivered(sent.sid);
  await delivered(withMedia.sid);
  const media = await client.messages(withMedia.sid).media.list();
  const oneMedia = await client.messages(withMedia.sid).media(media[0].sid).fetch();
  await client.messages(withMedia.sid).media(media[1].sid).remove();
  const mediaLeft = await client.messages(withMedia.sid).media.list();
  const toHandset = await client.messages.list({ to: HANDSET, pageSize: 1 });
  const fromNumber = await client.messages.list({ from: bought.phoneNumber, dateSent: new Date() });
  const redacted = await client.messages(sent.sid).update({ body: '' });
  const refusedTo = await refused(client.messages.create({ to: '+15005550009', from: bought.phoneNumber, body: 'x' }));
  const scheduled = await client.messages.create({
    to: HANDSET, messagingServiceSid: 'MG' + '2'.repeat(32), body: 'later', scheduleType: 'fixed',
    sendAt: new Date(Date.now() + 3600 * 1000),
  });
  const canceled = await client.messages(scheduled.sid).update({ status: 'canceled' });
  await client.messages(withMedia.sid).remove();
  await client.incomingPhoneNumbers(byArea.sid).remove();
  const numbersLeft = await client.incomingPhoneNumbers.list();

  console.log(JSON.stringify({
    exchanges,
    seen: {
      areaNumber: byArea.phoneNumber,
      filtered: filtered.map((n) => n.phoneNumber),
      fetchedNumber: [fetchedNumber.smsUrl, fetchedNumber.friendlyName],
      updatedNumber: [updatedNumber.smsMethod, updatedNumber.smsFallbackUrl],
      badUrl,
      sent: [sent.status, sent.direction, sent.numSegments],
      media: [media.length, oneMedia.contentType, mediaLeft.length],
      toHandset: toHandset.map((m) => m.sid),
      fromNumber: fromNumber.length,
      redacted: redacted.body,
      refusedTo,
      scheduled: [scheduled.status, canceled.status],
      numbersLeft: numbersLeft.map((n) => n.sid),
    },
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
