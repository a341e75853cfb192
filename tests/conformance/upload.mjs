// A GraphQL multipart upload as a web client sends it: the WHATWG `FormData` and `fetch` of Node (undici, the
// same encoder browsers follow), with the `operations` / `map` / file parts of the GraphQL multipart request
// specification. Then the picture is read back over `/media` and checked, and the cross-site cases are tried.
//
// Usage: node upload.mjs <gateway base URL> <member access token> <path of a JPEG>

import fs from 'node:fs';

const [base, token, path] = process.argv.slice(2);
if (!base || !token || !path) {
  console.error('usage: node upload.mjs <base> <member token> <jpeg path>');
  process.exit(2);
}
const fail = (message) => {
  console.error(message);
  process.exit(1);
};

const query =
  'mutation UploadImage($file: Upload!) { uploadImage(file: $file) { id url width height contentType thumbnails { width height url } } }';
const form = (name = 'photo.jpg') => {
  const f = new FormData();
  f.append('operations', JSON.stringify({ query, variables: { file: null } }));
  f.append('map', JSON.stringify({ 0: ['variables.file'] }));
  // The declared type and name are lies on purpose: the gateway reads the bytes.
  f.append('0', new Blob([fs.readFileSync(path)], { type: 'text/plain' }), name);
  return f;
};

// Signed in with a bearer token: taken.
const res = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}` },
  body: form('notes.txt'),
});
const body = await res.json();
if (res.status !== 200 || body.errors) fail(`upload: ${res.status} ${JSON.stringify(body)}`);
const image = body.data.uploadImage;
if (image.contentType !== 'image/jpeg' || image.width !== 1600 || image.height !== 1200) {
  fail(`unexpected image: ${JSON.stringify(image)}`);
}
if (image.thumbnails.map((t) => t.width).join(',') !== '320,640,1280') {
  fail(`unexpected thumbnails: ${JSON.stringify(image.thumbnails)}`);
}
const served = await fetch(`${base}${image.url}`);
const bytes = Buffer.from(await served.arrayBuffer());
if (served.status !== 200 || served.headers.get('content-type') !== 'image/jpeg') {
  fail(`serving: ${served.status} ${served.headers.get('content-type')}`);
}
if (bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes.includes(Buffer.from('Exif'))) {
  fail('the served picture is not a clean JPEG');
}
const again = await fetch(`${base}${image.url}`, { headers: { 'if-none-match': served.headers.get('etag') } });
if (again.status !== 304) fail(`If-None-Match: ${again.status}`);

// What a cross-site page's form could send: no token, no preflight header. Refused before anything runs.
const crossSite = await fetch(`${base}/graphql`, { method: 'POST', body: form() });
if (crossSite.status !== 415) fail(`a form without token or preflight header: ${crossSite.status}`);
// The preflight header without a token: understood, but a visitor may not upload.
const visitor = await fetch(`${base}/graphql`, {
  method: 'POST',
  headers: { 'graphql-require-preflight': '1' },
  body: form(),
});
const visitorBody = await visitor.json();
if (visitorBody.errors?.[0]?.extensions?.code !== 'UNAUTHENTICATED') {
  fail(`a visitor's upload: ${JSON.stringify(visitorBody)}`);
}
console.log(`uploaded ${bytes.length} bytes as ${image.url} with ${image.thumbnails.length} thumbnails`);
