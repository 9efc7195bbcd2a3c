// Loaded into Node.js processes started by `twirl exec` or under `twirl env`, beside the preload
// that sends Twilio's hosts to twirl. twilio-run's API commands read the account only from their
// --username/--password flags or the project's .env file, never from the environment, so a
// project whose .env names no account (or a real Twilio one) could not deploy into twirl. Given
// neither flag, they get the account twirl authenticates, which twirl exec puts in the
// environment.
'use strict';

const fs = require('fs');

const API_COMMANDS = new Set(['deploy', 'list', 'logs', 'promote', 'activate', 'env']);
// The package's own bin script; preloads run before Node resolves node_modules/.bin links.
const TWILIO_RUN_BIN = /[\\/]twilio-run[\\/]bin[\\/]twilio-run\.js$/;
const CREDENTIAL_FLAG = /^(--username|--password|-u)(=|$)|^-u./;

const [, script, command] = process.argv;

function realPath(file) {
  try {
    return fs.realpathSync(file);
  } catch {
    return '';
  }
}

const sid = process.env.TWILIO_ACCOUNT_SID;
const token = process.env.TWILIO_AUTH_TOKEN;
if (
  API_COMMANDS.has(command) &&
  TWILIO_RUN_BIN.test(realPath(script || '')) &&
  sid &&
  token &&
  !process.argv.slice(3).some((arg) => CREDENTIAL_FLAG.test(arg))
) {
  process.argv.push('--username', sid, '--password', token);
}
