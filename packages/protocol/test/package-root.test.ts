import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot, productRoot, productVersion } from '../src/package-root.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const version = (dir: string) =>
  (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;

describe('productRoot / packageRoot', () => {
  it('finds the checkout this module lives in, and each workspace package inside it', () => {
    expect(productRoot()).toBe(REPO);
    expect(packageRoot('@telemy/dock')).toBe(path.join(REPO, 'packages', 'dock'));
    expect(packageRoot('@telemy/control-plane')).toBe(path.join(REPO, 'packages', 'control-plane'));
  });
});

describe('productVersion', () => {
  it("is the root package.json's version, and every workspace package carries the same one", () => {
    expect(productVersion()).toBe(version(REPO));
    const workspaces = readdirSync(path.join(REPO, 'packages')).map((d) => path.join(REPO, 'packages', d));
    expect(workspaces.length).toBeGreaterThan(5);
    for (const dir of workspaces) expect(version(dir), dir).toBe(productVersion());
  });
});
