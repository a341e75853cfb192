'use strict';
// PostGraphile 4 on Portico's bench database, as `cargo bench --bench compare` runs it (it starts this script as
// a child process; by hand: `npm ci --prefix benches/postgraphile` once, then
// `POSTGRAPHILE_JWT_SECRET=... node benches/postgraphile/server.js`).
//
// Production settings: no watch mode, no GraphiQL, no query log, no batching, errors without stacks, JWTs
// verified with the shared secret (HS256, audience `postgraphile`) and their claims set as `jwt.claims.*`. The
// connections get the same session settings as Portico's pool (`plan_cache_mode = force_generic_plan`,
// `statement_timeout`). Only the schema `postgraphile_bench` (functions.sql) is exposed.
//
// Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/portico_bench), PORT (5678),
// POSTGRAPHILE_JWT_SECRET (required), POSTGRAPHILE_POOL_SIZE (connections per worker, default 4),
// POSTGRAPHILE_WORKERS (node processes sharing the port through `cluster`, default 1).
//
// The script stops when its standard input closes, so it never outlives the bench that started it.

const cluster = require('cluster');
const http = require('http');
const { Pool } = require('pg');
const { postgraphile } = require('postgraphile');

const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/portico_bench';
const port = Number(process.env.PORT || 5678);
const poolSize = Number(process.env.POSTGRAPHILE_POOL_SIZE || 4);
const workers = Number(process.env.POSTGRAPHILE_WORKERS || 1);
const jwtSecret = process.env.POSTGRAPHILE_JWT_SECRET;

if (!jwtSecret) {
  console.error('POSTGRAPHILE_JWT_SECRET is required');
  process.exit(2);
}

function stopWhenStdinCloses(stop) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  };
  cluster.on('exit', () => {
    if (!stopping) {
      console.error('a PostGraphile worker exited; stopping');
      stop();
    }
  });
  stopWhenStdinCloses(stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  serve();
}

function serve() {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: poolSize,
    options: '-c plan_cache_mode=force_generic_plan -c statement_timeout=10000 -c application_name=postgraphile',
  });
  pool.on('error', (e) => console.error('idle client error:', e.message));

  const middleware = postgraphile(pool, ['postgraphile_bench'], {
    watchPg: false,
    graphiql: false,
    enhanceGraphiql: false,
    retryOnInitFail: true,
    enableQueryBatching: false,
    disableQueryLog: true,
    showErrorStack: false,
    extendedErrors: [],
    setofFunctionsContainNulls: false,
    legacyRelations: 'omit',
    ignoreRBAC: true,
    jwtSecret,
    jwtVerifyOptions: { audience: 'postgraphile', algorithms: ['HS256'] },
    bodySizeLimit: '100kB',
  });

  const server = http.createServer(middleware);
  server.keepAliveTimeout = 65000;
  server.listen(port, '127.0.0.1', () => {
    console.log(`PostGraphile ${require('postgraphile/package.json').version} (pid ${process.pid}) at http://127.0.0.1:${port}/graphql, pool ${poolSize}`);
  });
  const stop = () => {
    server.close();
    pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  if (cluster.isWorker) {
    process.on('disconnect', () => process.exit(0));
  } else {
    stopWhenStdinCloses(stop);
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
