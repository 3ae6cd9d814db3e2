// @vitest-environment node
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const python = join(resolve(process.env.IDP_VENV_BIN ?? join(root, '../../.venv/bin')), 'python');

describe('the API types', () => {
  it.skipIf(!existsSync(python))('are what the OpenAPI document generates (run `npm run gen:api` after changing it)', async () => {
    // @ts-expect-error: a plain ESM script without declarations
    const { generate } = await import('../../scripts/gen-api.mjs');
    const committed = readFileSync(join(root, 'src/api/schema.gen.ts'), 'utf8');
    expect((await generate()) === committed, 'src/api/schema.gen.ts is stale: run `npm run gen:api`').toBe(true);
  }, 30_000);
});
