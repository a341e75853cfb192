// GraphQL over WebSocket conformance (graphql-transport-ws, as graphql-ws's PROTOCOL.md says it) at
// <base>/graphql/ws.
//
//   node ws-client.mjs http://127.0.0.1:8000 [init timeout in ms]
//
// The init timeout the server was started with comes from the second argument or from
// PORTICO_WS_INIT_TIMEOUT_MS (default 500 ms); the 4408 probe waits for it.
//
// 1. graphql-ws's own client (over the `ws` package): subscribes to the privacy policy and expects version
//    "1" first, runs a query over the socket, and expects an invalid operation to end in an `error` message.
// 2. Raw sockets probing the protocol's close codes: 4408, 4429, 4401, 4409, 4400, 4403, and ping/pong.
//
// Exits 1 when any check fails, naming each failure.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.argv[2];
if (!base) {
  console.error('usage: node ws-client.mjs <server base URL, e.g. http://127.0.0.1:8000> [init timeout ms]');
  process.exit(2);
}
const initTimeoutMs = Number(process.argv[3] ?? process.env.PORTICO_WS_INIT_TIMEOUT_MS ?? 500);
if (!Number.isFinite(initTimeoutMs) || initTimeoutMs <= 0) {
  console.error(`the init timeout must be a positive number of milliseconds, not ${process.argv[3]}`);
  process.exit(2);
}
const wsUrl = new URL('/graphql/ws', base);
wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
const SUBPROTOCOL = 'graphql-transport-ws';
/** How long any single expected event may take. */
const STEP_MS = 5000;

const POLICY_SUBSCRIPTION = 'subscription { privacyPolicy { version } }';
const POLICY_QUERY = '{ privacyPolicy { version } }';

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Describes whatever graphql-ws hands to an error sink: a close event, an Error, GraphQL errors. */
function describe(err) {
  if (Array.isArray(err)) return `GraphQL errors ${JSON.stringify(err)}`;
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    return `socket closed with ${err.code} ${err.reason || ''}`.trim();
  }
  return err?.message ?? String(err);
}

// ---------------------------------------------------------------------------------------------------------
// Raw sockets

/** A raw graphql-transport-ws socket recording messages and the close event. */
class RawSocket {
  constructor() {
    this.ws = new WebSocket(wsUrl, SUBPROTOCOL);
    this.openedAt = undefined;
    this.inbox = [];
    this.waiters = [];
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        this.openedAt = Date.now();
        resolve();
      });
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`the upgrade was refused with HTTP ${res.statusCode}`)),
      );
      this.ws.once('error', (err) => reject(new Error(`the socket failed: ${err.message}`)));
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString(), at: Date.now() });
        for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed with ${code} ${reason}`));
      });
    });
    this.ws.on('message', (data) => {
      let message;
      try {
        message = JSON.parse(data.toString());
      } catch {
        message = { unparsable: data.toString() };
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(message);
      else this.inbox.push(message);
    });
    this.ws.on('error', () => {}); // reported through `opened` or `closed`
  }

  async open() {
    await withTimeout(this.opened, STEP_MS, 'the WebSocket handshake');
    if (this.ws.protocol !== SUBPROTOCOL) {
      throw new Error(`the server chose subprotocol ${JSON.stringify(this.ws.protocol)}, not ${SUBPROTOCOL}`);
    }
    return this;
  }

  send(message) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  next(what) {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    return withTimeout(
      new Promise((resolve, reject) => this.waiters.push({ resolve, reject })),
      STEP_MS,
      what,
    );
  }

  async expectMessage(type) {
    const message = await this.next(`a ${type} message`);
    if (message.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(message)}`);
    return message;
  }

  async expectClose(code, ms = STEP_MS) {
    const closed = await withTimeout(this.closed, ms, `the server to close the socket with ${code}`);
    if (closed.code !== code) {
      throw new Error(`expected close code ${code}, got ${closed.code} ${JSON.stringify(closed.reason)}`);
    }
    return closed;
  }

  /** connection_init and its connection_ack. */
  async init(payload) {
    this.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
    await this.expectMessage('connection_ack');
    return this;
  }

  dispose() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    }
  }
}

async function raw(fn) {
  const socket = new RawSocket();
  try {
    await socket.open();
    return await fn(socket);
  } finally {
    socket.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Checks

const checks = [
  [
    'graphql-ws client: subscription privacyPolicy yields version "1" first',
    async () => {
      const client = createClient({
        url: wsUrl.href,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionAckWaitTimeout: STEP_MS,
      });
      try {
        const iterator = client.iterate({ query: POLICY_SUBSCRIPTION });
        const first = await withTimeout(iterator.next(), STEP_MS, 'the first subscription value').catch((err) => {
          throw new Error(describe(err));
        });
        await iterator.return?.();
        if (first.done) throw new Error('the subscription completed without a value');
        const result = first.value;
        if (result.errors) throw new Error(`the first value has errors: ${JSON.stringify(result.errors)}`);
        const version = result.data?.privacyPolicy?.version;
        if (version !== '1') throw new Error(`expected version "1", got ${JSON.stringify(result)}`);
        return `first value ${JSON.stringify(result.data)}`;
      } finally {
        await client.dispose();
      }
    },
  ],
  [
    'graphql-ws client: a query over the socket yields one result and completes',
    async () => {
      const client = createClient({ url: wsUrl.href, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      try {
        const results = [];
        await withTimeout(
          (async () => {
            for await (const result of client.iterate({ query: POLICY_QUERY })) results.push(result);
          })(),
          STEP_MS,
          'the query result and its completion',
        ).catch((err) => {
          throw new Error(describe(err));
        });
        if (results.length !== 1) throw new Error(`expected one result, got ${JSON.stringify(results)}`);
        if (results[0].data?.privacyPolicy?.version !== '1') {
          throw new Error(`expected version "1", got ${JSON.stringify(results[0])}`);
        }
        return `result ${JSON.stringify(results[0])}`;
      } finally {
        await client.dispose();
      }
    },
  ],
  [
    'graphql-ws client: an invalid operation ends in an error message, the socket stays usable',
    async () => {
      const client = createClient({ url: wsUrl.href, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      try {
        let error;
        await withTimeout(
          new Promise((resolve) => {
            client.subscribe(
              { query: '{ noSuchField }' },
              { next: () => {}, error: (e) => ((error = e), resolve()), complete: resolve },
            );
          }),
          STEP_MS,
          'the invalid operation to end',
        );
        if (!Array.isArray(error) || error.length === 0) {
          throw new Error(`expected an error message with GraphQL errors, got ${error ? describe(error) : 'completion'}`);
        }
        // The same connection still serves a valid operation.
        const again = await withTimeout(client.iterate({ query: POLICY_QUERY }).next(), STEP_MS, 'a query after the error');
        if (again.value?.data?.privacyPolicy?.version !== '1') throw new Error(`then got ${JSON.stringify(again)}`);
        return `errors ${JSON.stringify(error)}`;
      } finally {
        await client.dispose();
      }
    },
  ],
  [
    `no connection_init within ${initTimeoutMs} ms closes with 4408`,
    () =>
      raw(async (s) => {
        const closed = await s.expectClose(4408, initTimeoutMs + STEP_MS);
        const after = closed.at - s.openedAt;
        // Allow for timer granularity, not for closing early.
        if (after < initTimeoutMs * 0.8) throw new Error(`closed after only ${after} ms`);
        return `closed after ${after} ms: ${JSON.stringify(closed.reason)}`;
      }),
  ],
  [
    'a second connection_init closes with 4429',
    () =>
      raw(async (s) => {
        await s.init();
        s.send({ type: 'connection_init' });
        const closed = await s.expectClose(4429);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'subscribe before connection_ack closes with 4401',
    () =>
      raw(async (s) => {
        s.send({ id: '1', type: 'subscribe', payload: { query: POLICY_QUERY } });
        const closed = await s.expectClose(4401);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'a duplicate operation id closes with 4409',
    () =>
      raw(async (s) => {
        await s.init();
        s.send({ id: 'dup', type: 'subscribe', payload: { query: POLICY_SUBSCRIPTION } });
        const first = await s.expectMessage('next');
        if (first.id !== 'dup') throw new Error(`next for the wrong id: ${JSON.stringify(first)}`);
        s.send({ id: 'dup', type: 'subscribe', payload: { query: POLICY_SUBSCRIPTION } });
        const closed = await s.expectClose(4409);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'a message of an unknown type closes with 4400',
    () =>
      raw(async (s) => {
        await s.init();
        s.send({ type: 'no-such-type' });
        const closed = await s.expectClose(4400);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'a message that is not JSON closes with 4400',
    () =>
      raw(async (s) => {
        await s.init();
        s.send('this is not JSON');
        const closed = await s.expectClose(4400);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'a subscribe without a payload closes with 4400',
    () =>
      raw(async (s) => {
        await s.init();
        s.send({ id: '1', type: 'subscribe' });
        const closed = await s.expectClose(4400);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'connection_init with a bad bearer token closes with 4403',
    () =>
      raw(async (s) => {
        s.send({ type: 'connection_init', payload: { authorization: 'Bearer bad' } });
        const closed = await s.expectClose(4403);
        return JSON.stringify(closed.reason);
      }),
  ],
  [
    'ping is answered with pong',
    () =>
      raw(async (s) => {
        await s.init();
        s.send({ type: 'ping', payload: { probe: 1 } });
        const pong = await s.expectMessage('pong');
        return JSON.stringify(pong);
      }),
  ],
];

console.log(`GraphQL over WebSocket (${SUBPROTOCOL}) checks against ${wsUrl.href}\n`);
const failed = [];
for (const [name, check] of checks) {
  try {
    const detail = await check();
    console.log(`ok    ${name}${detail ? `\n        ${detail}` : ''}`);
  } catch (err) {
    failed.push(name);
    console.log(`FAIL  ${name}\n        ${err?.message ?? err}`);
  }
}
if (failed.length) {
  console.error(`\nFAIL: ${failed.length} of ${checks.length} WebSocket checks failed:`);
  for (const name of failed) console.error(`  - ${name}`);
  process.exit(1);
}
console.log(`\nOK: all ${checks.length} WebSocket checks passed.`);
process.exit(0);
