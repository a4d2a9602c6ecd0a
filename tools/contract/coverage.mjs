// Coverage of a `redocly respect` run (tools/contract.sh): every operation of
// openapi.yaml must have been called, and must have answered each of its
// success statuses and each of the main error statuses it declares (400, 401,
// 403, 404, 409, 415) at least once in a step that passed.
//
// Usage: node coverage.mjs OPENAPI_YAML ARAZZO_YAML RESPECT_JSON
// Prints a table of the statuses seen per operation and exits 1 on a gap.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// js-yaml comes with the pinned tools (a dependency of @redocly/cli and
// @stoplight/spectral-cli, installed by `make tools` from package-lock.json).
const require = createRequire(new URL('../package.json', import.meta.url));
const yaml = require('js-yaml');
const load = (path) => (yaml.load ?? yaml.safeLoad)(readFileSync(path, 'utf8'));

const MAIN_ERRORS = ['400', '401', '403', '404', '409', '415'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

const [openapiPath, arazzoPath, respectPath] = process.argv.slice(2);
if (!respectPath) {
  console.error('usage: node coverage.mjs OPENAPI_YAML ARAZZO_YAML RESPECT_JSON');
  process.exit(2);
}
const spec = load(openapiPath);
const arazzo = load(arazzoPath);
const run = JSON.parse(readFileSync(respectPath, 'utf8'));

// What each operation must show: its 2xx statuses and its main errors.
const required = new Map();
for (const [path, item] of Object.entries(spec.paths ?? {})) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    const id = op.operationId ?? `${method.toUpperCase()} ${path}`;
    const codes = Object.keys(op.responses ?? {});
    required.set(id, codes.filter((c) => /^2\d\d$/.test(c) || MAIN_ERRORS.includes(c)));
  }
}

// Which operation each step calls (`operationId`, optionally prefixed with
// the source description's name).
const stepOperation = new Map();
for (const wf of arazzo.workflows ?? []) {
  for (const step of wf.steps ?? []) {
    if (step.operationId) {
      stepOperation.set(`${wf.workflowId}/${step.stepId}`, step.operationId.split('.').pop());
    }
  }
}

// What the run saw: statuses per operation, from steps that passed.
const seen = new Map([...required.keys()].map((id) => [id, new Set()]));
let steps = 0;
for (const file of Object.values(run.files ?? {})) {
  for (const wf of file.executedWorkflows ?? []) {
    for (const step of wf.executedSteps ?? []) {
      const op = stepOperation.get(`${step.workflowId ?? wf.workflowId}/${step.stepId}`);
      if (!op || step.status !== 'success' || !step.response) continue;
      steps++;
      if (!seen.has(op)) seen.set(op, new Set());
      seen.get(op).add(String(step.response.statusCode));
    }
  }
}

let gaps = 0;
const rows = [];
for (const [op, codes] of required) {
  const got = seen.get(op);
  const missing = codes.filter((c) => !got.has(c));
  gaps += missing.length;
  rows.push([op, [...got].sort().join(' '), missing.length ? `MISSING ${missing.join(' ')}` : 'ok']);
}
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`  ${'operation'.padEnd(w0)}  ${'statuses seen'.padEnd(w1)}  required (2xx + ${MAIN_ERRORS.join('/')} where declared)`);
for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
const covered = rows.filter((r) => r[2] === 'ok').length;
console.log(`  coverage: ${covered}/${required.size} operations complete, ${steps} passing steps, ${gaps} required statuses missing`);
process.exit(gaps ? 1 : 0);
