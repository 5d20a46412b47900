import { describe, expect, it } from 'vitest';
import { restrictNodefs } from '../../src/db/pglite-private-fs.js';

function fakeNodefs() {
  const calls: [string, number | undefined][] = [];
  const nodefs = {
    node_ops: {
      mknod: (_p: unknown, _n: string, mode: number) => calls.push(['mknod', mode]),
      setattr: (_n: unknown, attr: { mode?: number }) => calls.push(['setattr', attr.mode]),
    },
    stream_ops: {
      setattr: (_s: unknown, attr: { mode?: number }) => calls.push(['fsetattr', attr.mode]),
      open: () => calls.push(['open', undefined]),
    },
  };
  return { nodefs, calls };
}

describe('restrictNodefs', () => {
  it('takes the group and other bits off every mode NODEFS sets, keeping the file type', () => {
    const { nodefs, calls } = fakeNodefs();
    restrictNodefs(nodefs);
    restrictNodefs(nodefs); // a second time changes nothing
    nodefs.node_ops.mknod(null, 'f', 0o100777);
    nodefs.node_ops.mknod(null, 'd', 0o040777);
    nodefs.node_ops.setattr(null, { mode: 0o100666 });
    nodefs.node_ops.setattr(null, {});
    nodefs.stream_ops.setattr(null, { mode: 0o100644 });
    expect(calls).toEqual([
      ['mknod', 0o100700],
      ['mknod', 0o040700],
      ['setattr', 0o100600],
      ['setattr', undefined],
      ['fsetattr', 0o100600],
    ]);
  });

  it('refuses a NODEFS it does not know (a PGlite upgrade must not silently make the store readable)', () => {
    expect(() => restrictNodefs(undefined)).toThrow(/cannot keep the embedded store private/);
    const { nodefs } = fakeNodefs();
    expect(() => restrictNodefs({ ...nodefs, stream_ops: { setattr: nodefs.stream_ops.setattr } })).toThrow(
      /cannot keep the embedded store private/,
    );
  });
});
