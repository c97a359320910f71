#!/usr/bin/env node
// Switchboard from Node.js: a client built at runtime from protos/ with @grpc/proto-loader,
// no generated code. It shows the reservation flow across languages and the watch contract:
//   1. CreatePool "node-pool" (ALREADY_EXISTS is fine: the pool is reused)
//   2. IncreaseCapacity by 10 cores, starting now, open-ended
//   3. WatchReservations from now; the first response is progress (no events) = the watch is live
//   4. CreateReservation of 2 cores for [now+60s, now+3600s)
//   5. read the watch until the CREATED event for that reservation arrives, then cancel it
// One JSON line per step on stdout. Exits 0 on success; non-zero on any error or after 20 s.
// Usage: node reservations.js [--ca FILE [--cert FILE --key FILE] [--token JWT]] [target]
//   (default localhost:50051). With --ca (or SWITCHBOARD_TLS_CA) it connects over TLS, verifying
//   the server by that CA; --cert and --key (or SWITCHBOARD_TLS_CERT, SWITCHBOARD_TLS_KEY) add a
//   client certificate for a server that asks for one (mTLS); --token (or SWITCHBOARD_TOKEN)
//   sends `authorization: Bearer <JWT>` on every call (over TLS only, never in the clear).
//   Without --ca: plaintext.
'use strict';

const fs = require('fs');
const path = require('path');
const { parseArgs } = require('util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const { values: flags, positionals } = parseArgs({
  options: {
    ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
    token: { type: 'string' },
  },
  allowPositionals: true,
});
const target = positionals[0] || 'localhost:50051';
const tls = {
  ca: flags.ca || process.env.SWITCHBOARD_TLS_CA,
  cert: flags.cert || process.env.SWITCHBOARD_TLS_CERT,
  key: flags.key || process.env.SWITCHBOARD_TLS_KEY,
};
const token = flags.token || process.env.SWITCHBOARD_TOKEN;
if (!tls.cert !== !tls.key) {
  console.error('node client: --cert and --key go together');
  process.exit(2);
}
if ((tls.cert || token) && !tls.ca) {
  console.error('node client: --cert, --key and --token need --ca (TLS)');
  process.exit(2);
}
const read = (file) => (file ? fs.readFileSync(file) : null);
const bearer = (token_) => grpc.credentials.createFromMetadataGenerator((_, callback) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token_}`);
  callback(null, metadata);
});
const ssl = tls.ca && grpc.credentials.createSsl(read(tls.ca), read(tls.key), read(tls.cert));
const credentials = !tls.ca ? grpc.credentials.createInsecure()
  : token ? grpc.credentials.combineChannelCredentials(ssl, bearer(token)) : ssl;
const POOL = 'node-pool';
const OVERALL_TIMEOUT_MS = 20000;
const CALL_TIMEOUT_MS = 5000;

// The import of google/protobuf/*.proto resolves to the well-known types bundled with protobufjs.
const definition = protoLoader.loadSync('switchboard/reservation/v1/reservation.proto', {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [path.join(__dirname, '..', '..', 'protos')],
});
const v1 = grpc.loadPackageDefinition(definition).switchboard.reservation.v1;
const client = new v1.ReservationService(target, credentials);

const log = (step, fields) => console.log(JSON.stringify({ step, ...fields }));
// google.protobuf.Timestamp from epoch milliseconds (int64 seconds travel as strings).
const timestamp = (ms) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
// A unary call as a promise, with a deadline.
const call = (method, request) => new Promise((resolve, reject) => {
  client[method](request, { deadline: Date.now() + CALL_TIMEOUT_MS },
    (err, response) => (err ? reject(err) : resolve(response)));
});

async function main() {
  try {
    const { pool } = await call('CreatePool',
      { pool: { id: POOL, provider: 'openstack', availability_zone: 'az1' } });
    log('create-pool', { pool_id: pool.id, created: true });
  } catch (err) {
    if (err.code !== grpc.status.ALREADY_EXISTS) throw err;
    log('create-pool', { pool_id: POOL, created: false, reason: 'already exists' });
  }

  const { change } = await call('IncreaseCapacity',
    { pool_id: POOL, resources: { cores: 10 }, reason: 'node client' });
  log('increase-capacity', { change_id: change.id, cores: change.resources.cores });

  const stream = client.WatchReservations({ start_revision: 0, pool_id: POOL });
  const responses = stream[Symbol.asyncIterator]();
  const first = await responses.next();
  if (first.done) throw new Error('watch ended before its first response');
  if (first.value.events.length !== 0) throw new Error('first watch response was not progress');
  log('watch-live', { revision: first.value.revision });

  const now = Date.now();
  const { reservation } = await call('CreateReservation', {
    reservation: {
      pool_id: POOL, name: 'from-node', resources: { cores: 2 },
      start_time: timestamp(now + 60000), end_time: timestamp(now + 3600000),
    },
  });
  log('create-reservation', { id: reservation.id, status: reservation.status, revision: reservation.revision });

  for (;;) {
    const { value, done } = await responses.next();
    if (done) throw new Error('watch ended before the CREATED event');
    const event = value.events.find((e) => e.type === 'RESERVATION_EVENT_TYPE_CREATED'
      && e.reservation.id === reservation.id);
    if (event) {
      log('watch-event', { type: event.type, id: event.reservation.id, revision: event.revision });
      break;
    }
  }
  stream.cancel(); // The stream then ends with CANCELLED, which the iterator absorbs.
  log('done', {
    target, tls: Boolean(tls.ca), client_certificate: Boolean(tls.cert), token: Boolean(token),
  });
}

const fail = (message) => {
  console.error(`node client: FAILED: ${message}`);
  process.exit(1);
};
const timer = setTimeout(() => fail(`timed out after ${OVERALL_TIMEOUT_MS / 1000} s`), OVERALL_TIMEOUT_MS);
main().then(() => {
  clearTimeout(timer);
  client.close();
}, (err) => fail(err.code !== undefined ? `${grpc.status[err.code]}: ${err.details}` : err.message));
