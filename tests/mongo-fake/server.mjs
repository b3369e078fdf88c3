// Mongo-wire fake for the integration tests: CongoDB from @push.rocks/smartmongo
// 2.2.0, in memory, on 127.0.0.1.  Usage: node server.mjs PORT
// Prints "READY mongodb://127.0.0.1:PORT" once listening; stops on SIGTERM/SIGINT.
// Limits (see ../../../shared/test-infra.md §4): _id must be an ObjectId, no auth,
// no TLS, no replica set, no change streams.
import { CongoServer } from '@push.rocks/smartmongo/dist_ts/congodb/index.js';

const port = parseInt(process.argv[2] || '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs PORT');
  process.exit(2);
}
const server = new CongoServer({ port, host: '127.0.0.1', storage: 'memory' });
try {
  await server.start();
} catch (e) {
  console.error(`mongo-fake: cannot start on 127.0.0.1:${port}: ${e && e.message ? e.message : e}`);
  process.exit(1);
}
console.log(`READY mongodb://127.0.0.1:${port}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try { await server.stop(); } finally { process.exit(0); }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
