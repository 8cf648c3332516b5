// Runs the Node.js examples of README.md ("Using vecann from your language"): each code
// block preceded by `<!-- tested: node -->` is written next to this file (so that it
// finds node_modules), run with node in a fresh database (PGDATABASE), and must exit 0.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { recreateDatabase } from './helpers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(join(here, '..', '..', '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- tested: node -->\s*```\w+\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README.md Node.js examples', () => {
  test('the README has Node.js examples', () => {
    assert.ok(blocks.length >= 2, `found ${blocks.length}`);
  });

  blocks.forEach((code, i) => {
    test(`example ${i + 1}`, async () => {
      const config = await recreateDatabase(`vecann_node_readme_${i}`, { extension: false });
      const file = join(here, `.readme-example-${i}.tmp.mjs`);
      writeFileSync(file, code);
      try {
        await promisify(execFile)(process.execPath, [file], {
          cwd: here, env: { ...process.env, PGDATABASE: config.database }, timeout: 120000,
        });
      } catch (e) {
        assert.fail(`README example ${i + 1} failed:\n${e.stderr || e.message}`);
      } finally {
        rmSync(file, { force: true });
      }
    });
  });
});
