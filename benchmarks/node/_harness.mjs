// Shared by the benchmark drivers: module resolution from a given node_modules directory,
// per-call timing with process.hrtime.bigint(), and the stdin/stdout JSON protocol.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';

// Import package `name` from `modulesDir` (the interop peers' node_modules, or our own), the
// way Node's ESM resolver would: exports["."] (import/default condition), else module/main.
export async function importFrom(modulesDir, name) {
  const dir = join(modulesDir, name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  let entry = pkg.exports;
  if (entry && typeof entry === 'object' && '.' in entry) entry = entry['.'];
  if (entry && typeof entry === 'object') entry = entry.import ?? entry.default ?? entry.node;
  if (typeof entry !== 'string') entry = pkg.module ?? pkg.main ?? 'index.js';
  return {module: await import(pathToFileURL(join(dir, entry)).href), version: pkg.version};
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Time `fn` call by call (awaited): at least `minCalls`, more while `budgetMs` lasts.
// Returns the median in microseconds and the number of calls.
export async function timeCalls(fn, {minCalls = 200, maxCalls = 5000, budgetMs = 1000, warmup = 20} = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  const deadline = performance.now() + budgetMs;
  while (samples.length < maxCalls && (samples.length < minCalls || performance.now() < deadline)) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return {median_us: median(samples), n: samples.length};
}

export async function readCommand() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export function main(run) {
  (async () => {
    const modulesDir = process.argv[2];
    if (!modulesDir) throw new Error('usage: node <script> NODE_MODULES_DIR < command.json');
    const cmd = await readCommand();
    const out = await run(cmd, modulesDir);
    process.stdout.write(JSON.stringify({node: process.version, ...out}));
  })().catch((e) => {
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
