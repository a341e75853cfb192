// GraphQL over HTTP conformance: runs graphql-http's server audits against <base>/graphql.
//
//   node audit.mjs http://127.0.0.1:8000
//
// Prints every result. Exits 1 when a MUST audit fails (or an audit cannot run at all); failed SHOULD and
// MAY audits are reported as warnings and notices and do not fail the run.

import { serverAudits } from 'graphql-http';

const base = process.argv[2];
if (!base) {
  console.error('usage: node audit.mjs <server base URL, e.g. http://127.0.0.1:8000>');
  process.exit(2);
}
const url = new URL('/graphql', base).href;

/** The response body of a failed audit, when it can still be read. */
async function bodyOf(response) {
  if (!response || typeof response.clone !== 'function') return '';
  try {
    const text = await response.clone().text();
    return text.length > 500 ? `${text.slice(0, 500)}…` : text;
  } catch {
    return '(body already read)';
  }
}

const levels = ['MUST', 'SHOULD', 'MAY'];
const counts = Object.fromEntries(levels.map((l) => [l, { ok: 0, failed: 0 }]));
const failures = { MUST: [], SHOULD: [], MAY: [] };

console.log(`graphql-http server audits against ${url}\n`);
for (const audit of serverAudits({ url })) {
  const level = audit.name.split(' ')[0];
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws only for fatal problems (the server is unreachable, a body is not JSON).
    result = { id: audit.id, name: audit.name, status: 'error', reason: `fatal: ${err?.stack || err}`, fatal: true };
  }
  const mark = result.status === 'ok' ? 'ok   ' : result.status === 'error' ? 'ERROR' : result.status.padEnd(5);
  console.log(`${mark} [${result.id}] ${result.name}`);
  if (result.status === 'ok') {
    counts[level].ok += 1;
    continue;
  }
  counts[level].failed += 1;
  const status = result.response ? ` (HTTP ${result.response.status})` : '';
  const body = await bodyOf(result.response);
  console.log(`        ${result.reason}${status}${body ? `\n        body: ${body}` : ''}`);
  failures[level].push(result);
}

console.log('\nSummary');
for (const level of levels) {
  const { ok, failed } = counts[level];
  console.log(`  ${level.padEnd(6)} ${ok} passed, ${failed} failed`);
}
for (const [level, label] of [
  ['SHOULD', 'warnings (recommendations not followed)'],
  ['MAY', 'notices (optional behaviour not present)'],
]) {
  if (failures[level].length) {
    console.log(`\n${level} ${label}:`);
    for (const f of failures[level]) console.log(`  - [${f.id}] ${f.name}: ${f.reason}`);
  }
}

const mustErrors = Object.values(failures)
  .flat()
  .filter((f) => f.fatal || (f.name.startsWith('MUST') && f.status === 'error'));
if (mustErrors.length) {
  console.error(`\nFAIL: ${mustErrors.length} MUST audit(s) failed or could not run:`);
  for (const f of mustErrors) console.error(`  - [${f.id}] ${f.name}: ${f.reason}`);
  process.exit(1);
}
console.log('\nOK: no MUST audit failed.');
