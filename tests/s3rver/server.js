// The S3 test server for the integration tests and scripts/bench_s3.sh:
// @20minutes/s3rver 4.0.4 (verifies SigV4 when a request is signed; unsigned
// requests are served as anonymous), started from code (its tarball has no
// bin/). Run with node --openssl-legacy-provider (node 20: its list
// continuation tokens use DES).
//
// usage: node --openssl-legacy-provider server.js PORT DATADIR [KEYID:SECRET ...]
// Prints "READY http://127.0.0.1:PORT" once listening, then one line per
// request answered:
//   REQ {"m":"GET","u":"/bucket/key?x=y","s":200,"k":"AKID","t":1,"h":"host;x-amz-..."}
// (k: the access key of a signed request, "" unsigned; t: 1 when an
// x-amz-security-token header came and was signed; h: the signed headers).
// Extra key pairs besides S3RVER:S3RVER are added to its account.
'use strict';
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const port = parseInt(process.argv[2] || '4570', 10);
const dir = process.argv[3] || '/tmp/s3data';
for (const kp of process.argv.slice(4)) {
  const i = kp.indexOf(':');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(kp.slice(0, i), kp.slice(i + 1));
}
const server = new S3rver({ address: '127.0.0.1', port, directory: dir, silent: true });
const callback = server.callback.bind(server);
server.callback = () => {
  const handle = callback();
  return (req, res) => {
    res.on('finish', () => {
      const auth = req.headers.authorization || '';
      const cred = /Credential=([^/,]*)/.exec(auth);
      const signed = /SignedHeaders=([^,]*)/.exec(auth);
      const h = signed ? signed[1] : '';
      const tok = 'x-amz-security-token' in req.headers &&
        h.split(';').includes('x-amz-security-token') ? 1 : 0;
      console.log('REQ ' + JSON.stringify({ m: req.method, u: req.url, s: res.statusCode,
        k: cred ? cred[1] : '', t: tok, h }));
    });
    handle(req, res);
  };
};
server.run().then(({ address, port }) => console.log(`READY http://${address}:${port}`));
const stop = () => server.close().then(() => process.exit(0), () => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
