// A Web Push service as a browser's would be, written on others' code: Martin Thomson's http_ece (the RFC 8188
// author's implementation, the one the `web-push` library uses) decrypts each payload with the subscription's
// private key and auth secret, and Node's crypto verifies the VAPID JWT (RFC 8292) against the `k=` key.
//
// Usage: node webpush.mjs <gateway base URL> <member access token> <staff access token>
// The member registers this service's subscription, the staff member declares an incident, and the script
// waits for the gateway's push and checks it.

import crypto from 'node:crypto';
import http from 'node:http';
import ece from 'http_ece';

const [base, member, staff] = process.argv.slice(2);
if (!base || !member || !staff) {
  console.error('usage: node webpush.mjs <base> <member token> <staff token>');
  process.exit(2);
}
const b64url = (buf) => Buffer.from(buf).toString('base64url');

async function gql(token, query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

// The browser side: a P-256 key pair and an auth secret, as PushManager.subscribe makes them.
const ua = crypto.createECDH('prime256v1');
ua.generateKeys();
const authSecret = crypto.randomBytes(16);

let resolvePush;
const pushed = new Promise((resolve) => (resolvePush = resolve));
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(201).end();
    resolvePush({ headers: req.headers, body: Buffer.concat(chunks), url: req.url });
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const { webPushPublicKey } = await gql(member, 'query WebPushKey { webPushPublicKey }');
const subscription = {
  endpoint: `${origin}/push/conformance`,
  keys: { p256dh: b64url(ua.getPublicKey()), auth: b64url(authSecret) },
};
const { registerPushDevice } = await gql(
  member,
  'mutation RegisterPushDevice($input: RegisterPushDeviceInput!) { registerPushDevice(input: $input) { id kind label } }',
  { input: { kind: 'WEB_PUSH', label: 'Node', endpoint: subscription.endpoint, ...subscription.keys } },
);
if (registerPushDevice.kind !== 'WEB_PUSH') throw new Error(JSON.stringify(registerPushDevice));

await gql(
  staff,
  'mutation($input: DeclareIncidentInput!) { declareIncident(input: $input) { id } }',
  {
    input: {
      title: 'Conformance check', description: 'A drill.', severity: 'HIGH', dataCategories: ['phone'],
      cause: 'A drill.', possibleHarm: 'None.', remedialMeasures: 'None needed.', userActions: 'Nothing.',
      contact: 'privacy@example.com', scope: { all: true },
    },
  },
);

const push = await Promise.race([
  pushed,
  new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 30 s')), 30000)),
]);
server.closeAllConnections();
server.close();

const fail = (why) => {
  console.error(`FAIL: ${why}`);
  process.exit(1);
};
const h = push.headers;
if (h['content-encoding'] !== 'aes128gcm') fail(`Content-Encoding ${h['content-encoding']}`);
if (!(Number(h.ttl) > 0)) fail(`TTL ${h.ttl}`);
if (h.urgency !== 'high') fail(`Urgency ${h.urgency}`);

// RFC 8292: vapid t=<JWT>, k=<the application server key>.
const params = Object.fromEntries(
  (h.authorization ?? '').replace(/^vapid /, '').split(',').map((p) => p.trim().split('=')),
);
if (params.k !== webPushPublicKey) fail('k= is not the advertised webPushPublicKey');
const point = Buffer.from(params.k, 'base64url');
const key = crypto.createPublicKey({
  key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) },
  format: 'jwk',
});
const [header64, claims64, sig64] = (params.t ?? '').split('.');
const jwtHeader = JSON.parse(Buffer.from(header64, 'base64url'));
const claims = JSON.parse(Buffer.from(claims64, 'base64url'));
if (jwtHeader.alg !== 'ES256') fail(`alg ${jwtHeader.alg}`);
const signed = crypto.verify(
  'sha256', Buffer.from(`${header64}.${claims64}`), { key, dsaEncoding: 'ieee-p1363' },
  Buffer.from(sig64, 'base64url'),
);
if (!signed) fail('the VAPID signature does not verify');
if (claims.aud !== origin) fail(`aud ${claims.aud}, expected ${origin}`);
const left = claims.exp - Date.now() / 1000;
if (!(left > 0 && left <= 24 * 3600)) fail(`exp ${left} s ahead`);
if (!/^(mailto:|https:)/.test(claims.sub)) fail(`sub ${claims.sub}`);

// RFC 8291 with RFC 8188's aes128gcm: decrypt with the subscription's private key and auth secret.
const plain = ece.decrypt(push.body, { version: 'aes128gcm', privateKey: ua, authSecret });
const payload = JSON.parse(plain.toString('utf8'));
if (payload.kind !== 'SECURITY_INCIDENT') fail(`kind ${payload.kind}`);
if (payload.title !== 'Security incident: Conformance check') fail(`title ${payload.title}`);
if (!payload.incidentId || !payload.id) fail(`ids ${JSON.stringify(payload)}`);
console.log(`ok: VAPID verified (aud ${claims.aud}, exp in ${Math.round(left)} s, sub ${claims.sub}); ` +
  `payload decrypted by http_ece: ${JSON.stringify(payload)}`);
process.exit(0);
