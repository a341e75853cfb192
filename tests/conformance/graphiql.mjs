// GraphiQL in a real browser: loads <base>/graphiql in headless Chromium, opens the documentation explorer
// and checks it lists Query's fields (the schema came by GraphiQL's own introspection query), runs a query and
// a subscription and waits for their results, with no request leaving the gateway and no
// Content-Security-Policy violation.
//
//   node graphiql.mjs http://127.0.0.1:8000
//
// Chromium: PORTICO_CHROMIUM, else /usr/bin/chromium (Debian's package). A screenshot of the final page is
// saved to target/graphiql.png (PORTICO_GRAPHIQL_SCREENSHOT overrides the path). Exits 1 on failure.

import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const base = process.argv[2];
if (!base) {
  console.error('usage: node graphiql.mjs <server base URL, e.g. http://127.0.0.1:8000>');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const executablePath = process.env.PORTICO_CHROMIUM || '/usr/bin/chromium';
const screenshotPath = resolve(process.env.PORTICO_GRAPHIQL_SCREENSHOT || join(here, '..', '..', 'target', 'graphiql.png'));
const pageUrl = new URL('/graphiql', base);
const gatewayHost = pageUrl.host;
const QUERY = '{ privacyPolicy { version } }';
const SUBSCRIPTION = 'subscription { privacyPolicy { version } }';
const EXPECTED = '"version": "1"';
/** Fields of Query the documentation explorer must list. */
const QUERY_FIELDS = ['viewer', 'works', 'search', 'privacyPolicy', 'node'];
const TIMEOUT_MS = 30_000;

/** Everything that makes the run fail, collected while the page lives. */
const problems = [];
const requests = [];
const console_ = [];

/** WebSockets the page opened, with the frames' message types. */
const sockets = [];

const indent = (text) => text.replace(/^/gm, '        ');

function frameType(payload) {
  try {
    return JSON.parse(payload.toString());
  } catch {
    return { type: `(not JSON: ${payload.toString().slice(0, 80)})` };
  }
}

/** The result pane's text. */
function resultText(page) {
  return page.evaluate(() => {
    const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
    return cm ? cm.getValue() : (document.querySelector('.graphiql-response')?.textContent ?? '');
  });
}

/** Puts `operation` into the query editor, runs it with the execute button, waits for EXPECTED. */
async function run(page, operation) {
  // Set it through CodeMirror's own API (typing would fight auto-closed brackets and hints).
  const set = await page.evaluate((text) => {
    const cm = document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror;
    if (!cm) return false;
    cm.setValue(text);
    cm.focus();
    return true;
  }, operation);
  if (!set) {
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(operation);
  }
  // GraphiQL reads the operation name from the editor 100 ms (debounced) after a change, and persists the
  // query at the same moment: run only once it has (a quicker run sends the previous operation name).
  await page.waitForFunction((text) => {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (key.endsWith('graphiql:query') && localStorage.getItem(key) === text) return true;
    }
    return false;
  }, operation);
  // Start from an empty result pane, so the previous operation's result cannot satisfy the wait.
  await page.evaluate(() => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror?.setValue(''));

  await page.locator('.graphiql-execute-button').click();

  await page
    .waitForFunction(
      (expected) => {
        const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
        const text = cm ? cm.getValue() : (document.querySelector('.graphiql-response')?.textContent ?? '');
        return text.includes(expected);
      },
      EXPECTED,
      { timeout: TIMEOUT_MS },
    )
    .catch(async (err) => {
      throw new Error(
        `${operation}: the result pane never showed ${EXPECTED}; it shows ${JSON.stringify(await resultText(page))} (${err.message})`,
      );
    });
  return resultText(page);
}

/** A request may go to the gateway only (`data:` and `blob:` URLs never leave the browser). */
function checkUrl(kind, url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return;
  if (u.host !== gatewayHost || !['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) {
    problems.push(`${kind} to a host other than the gateway: ${url}`);
  }
}

const userDataDir = await mkdtemp(join(tmpdir(), 'portico-chromium-'));
let context;
let exitCode = 0;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    timeout: TIMEOUT_MS,
  });
  context.setDefaultTimeout(TIMEOUT_MS);

  context.on('request', (request) => {
    requests.push(`${request.method()} ${request.url()}`);
    checkUrl('request', request.url());
  });
  context.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  context.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
  });

  const page = context.pages()[0] ?? (await context.newPage());
  page.on('websocket', (ws) => {
    checkUrl('WebSocket', ws.url());
    const socket = { url: ws.url(), sent: [], received: [] };
    sockets.push(socket);
    ws.on('framesent', (f) => socket.sent.push(frameType(f.payload)));
    ws.on('framereceived', (f) => socket.received.push(frameType(f.payload)));
    ws.on('socketerror', (e) => problems.push(`WebSocket error on ${ws.url()}: ${e}`));
  });
  page.on('console', (msg) => {
    const text = msg.text();
    console_.push(`[${msg.type()}] ${text}`);
    if (/Content[- ]Security[- ]Policy|Refused to (load|execute|apply|connect|frame|evaluate)/i.test(text)) {
      problems.push(`CSP violation reported on the console: ${text}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`uncaught error in the page: ${err.message}`));
  // Record violations from the page's own point of view too (init scripts run outside the page's CSP).
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'}`);
    });
  });

  const response = await page.goto(pageUrl.href, { waitUntil: 'load' });
  if (!response || response.status() !== 200) throw new Error(`GET ${pageUrl.href} answered ${response?.status()}`);
  const csp = response.headers()['content-security-policy'];
  if (!csp) throw new Error('the page has no Content-Security-Policy header');

  // GraphiQL is up once its query editor (CodeMirror) exists; the schema comes by introspection.
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await editor.waitFor({ state: 'visible' });

  // 0. The documentation explorer shows the schema: GraphiQL's introspection query was answered.
  await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
  const explorer = page.locator('.graphiql-doc-explorer');
  await explorer.waitFor({ state: 'visible' });
  await page
    .locator('.graphiql-doc-explorer .graphiql-doc-explorer-type-name', { hasText: /^Query$/ })
    .first()
    .click()
    .catch(async (err) => {
      throw new Error(
        `the documentation explorer shows no Query type; it shows ${JSON.stringify(await explorer.innerText())} (${err.message})`,
      );
    });
  await page
    .waitForFunction(
      (wanted) => {
        const names = [...document.querySelectorAll('.graphiql-doc-explorer .graphiql-doc-explorer-field-name')].map(
          (a) => a.textContent,
        );
        return wanted.every((w) => names.includes(w));
      },
      QUERY_FIELDS,
      { timeout: TIMEOUT_MS },
    )
    .catch(async (err) => {
      throw new Error(`the documentation explorer does not list ${QUERY_FIELDS}: ${JSON.stringify(await explorer.innerText())} (${err.message})`);
    });
  const listed = await page.$$eval('.graphiql-doc-explorer .graphiql-doc-explorer-field-name', (as) => as.map((a) => a.textContent));
  console.log(`ok    the documentation explorer lists Query's ${listed.length} fields: ${listed.join(', ')}`);
  if (await page.locator('.graphiql-doc-explorer-error').count()) {
    throw new Error(`the documentation explorer shows an error: ${await page.locator('.graphiql-doc-explorer-error').first().innerText()}`);
  }
  await mkdir(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath.replace(/\.png$/, '-docs.png') });

  // 1. A query, over HTTP.
  console.log(`ok    ${QUERY}: the result pane shows ${EXPECTED}:\n${indent(await run(page, QUERY))}`);

  // 2. A subscription, over graphql-transport-ws at /graphql/ws (GraphiQL's fetcher opens the socket).
  const before = sockets.length;
  console.log(`ok    ${SUBSCRIPTION}: the result pane shows ${EXPECTED}:\n${indent(await run(page, SUBSCRIPTION))}`);
  const socket = sockets.slice(before).find((s) => new URL(s.url).pathname === '/graphql/ws');
  if (!socket) throw new Error(`the subscription opened no WebSocket to /graphql/ws (sockets: ${JSON.stringify(sockets)})`);
  const types = socket.received.map((f) => f.type);
  if (!types.includes('connection_ack') || !types.includes('next')) {
    throw new Error(`the WebSocket did not carry connection_ack and next: ${JSON.stringify(socket)}`);
  }
  console.log(`ok    the subscription ran over ${socket.url}: sent ${socket.sent.map((f) => f.type)}, received ${types}`);

  const violations = await page.evaluate(() => window.__cspViolations ?? []);
  for (const v of violations) problems.push(`CSP violation: ${v}`);

  await mkdir(dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath });
  console.log(`ok    screenshot saved to ${screenshotPath}`);
} catch (err) {
  problems.push(err?.message ?? String(err));
} finally {
  await context?.close().catch(() => {});
  await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
}

console.log(`\nrequests (${requests.length}):`);
for (const r of requests) console.log(`  ${r}`);
if (console_.length) {
  console.log(`\nbrowser console (${console_.length}):`);
  for (const line of console_) console.log(`  ${line}`);
}
if (problems.length) {
  console.error(`\nFAIL: GraphiQL at ${pageUrl.href}:`);
  for (const p of problems) console.error(`  - ${p}`);
  exitCode = 1;
} else {
  console.log(`\nOK: GraphiQL showed the schema in its documentation explorer, ran a query and a subscription with every request on ${gatewayHost} and no CSP violation.`);
}
process.exit(exitCode);
