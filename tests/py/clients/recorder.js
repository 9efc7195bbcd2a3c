// A twilio-node client, as an application makes it (credentials from the environment, no base
// URL), whose requests and answers are recorded through the client's own request client, for the
// scripts that drive every operation of a product and print the exchanges for the test to check.
'use strict';

const twilio = require('twilio');

/** [method, uri, status, parsed body] for every request the client made, in order. */
const exchanges = [];
const base = new twilio.RequestClient();
const recorder = {
  async request(options) {
    const response = await base.request(options);
    const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    exchanges.push([options.method.toUpperCase(), options.uri, response.statusCode, text ? JSON.parse(text) : null]);
    return response;
  },
};

const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN, { httpClient: recorder });

/** The status and Twilio error code of a call that must be refused. */
async function refused(promise) {
  try {
    await promise;
  } catch (error) {
    return [error.status, error.code];
  }
  throw new Error('expected the call to be refused');
}

module.exports = { client, exchanges, refused };
