// Build: the ESM bundles (Vite library mode), the type declarations (tsc), then the
// size of each entry point, minified and gzipped, against its budget.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
// Vite's own bundler ships the minifier (oxc): the size an app's production build sees.
import { minifySync } from 'rolldown/utils';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

run(bin('vite'), ['build', '--logLevel', 'warn']);
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

/** The entry's bytes plus every chunk it imports statically. */
function closure(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(root, 'dist', file), 'utf8');
  for (const match of text.matchAll(/(?:import|from)\s*["']\.\/([^"']+\.js)["']/g)) closure(match[1], seen);
  return seen;
}

function size(files) {
  const source = [...files].map((f) => readFileSync(join(root, 'dist', f), 'utf8')).join('\n');
  const text = minifySync('bundle.js', source, { module: true, compress: true, mangle: true }).code;
  return { min: Buffer.byteLength(text), gzip: gzipSync(text, { level: 9 }).length };
}

const core = closure('index.js');
const react = closure('react.js');
const reactOnly = new Set([...react].filter((f) => !core.has(f)));
const budgets = [
  ['core (.)', size(core), 15 * 1024],
  ['/react (on top of core)', size(reactOnly), 6 * 1024],
];
let over = false;
for (const [name, { min, gzip }, budget] of budgets) {
  const kb = (n) => (n / 1024).toFixed(2) + ' KB';
  console.log(`size ${name}: ${kb(min)} min, ${kb(gzip)} min+gzip (budget ${kb(budget)})`);
  if (gzip > budget) over = true;
}
if (over) {
  console.error('bundle size over budget');
  process.exit(1);
}
