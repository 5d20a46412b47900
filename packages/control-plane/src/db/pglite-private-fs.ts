import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

/**
 * The embedded store holds secrets (pair and WS tokens, egress passphrases, API-key hashes), so its
 * folder is 0700 and every file in it 0600: no group or other bit, whatever the umask.
 *
 * The process umask cannot give that. PGlite's PostgreSQL asks for 0666 files, and Emscripten's file
 * layer (`FS.open`) creates each file and then `chmod`s it to the mode asked for — a chmod the umask
 * does not filter — so its files are 0666 under any umask (0022 and 0077 tried). A umask would also be
 * process-wide: inherited by the relays the control plane starts, and not settable in worker threads.
 * So the filesystem PGlite runs on (`PrivateNodeFS`) drops the group and other bits of every mode it
 * sets on the host, and a store made before that is repaired when it is opened (`restrictTree`).
 */

/** Clears the group and other permission bits; keeps the owner's and the file-type bits. */
const OWNER_ONLY = ~0o077;

type Fn = (...args: never[]) => unknown;

/** The parts of Emscripten's NODEFS (the Node.js backend of its file layer) that set host modes. */
interface Nodefs {
  node_ops: {
    mknod(parent: unknown, name: string, mode: number, dev: number): unknown;
    setattr(node: unknown, attr: { mode?: number }): void;
  };
  stream_ops: {
    setattr(stream: unknown, attr: { mode?: number }): void;
    open(stream: { nfd?: unknown }): void;
  };
}

const RESTRICTED = Symbol('telemy.ownerOnly');

function isFn(v: unknown): v is Fn {
  return typeof v === 'function';
}

function ownerOnlyAttr<A extends { mode?: number }>(attr: A): A {
  return attr && typeof attr.mode === 'number' ? { ...attr, mode: attr.mode & OWNER_ONLY } : attr;
}

/**
 * Makes one Emscripten module's NODEFS create and chmod everything owner-only. Every host file and
 * folder it makes goes through these: `mknod` (new files and folders), `setattr` (chmod, including the
 * one that follows each file's creation), and `open` (which can create a file with the host's default
 * mode). Throws when PGlite's build no longer has them, so that a PGlite upgrade cannot quietly go back
 * to world-writable files.
 */
export function restrictNodefs(nodefs: unknown): void {
  const n = nodefs as Partial<Nodefs> & { [RESTRICTED]?: true };
  const node = n?.node_ops;
  const stream = n?.stream_ops;
  if (
    !node ||
    !stream ||
    !isFn(node.mknod) ||
    !isFn(node.setattr) ||
    !isFn(stream.setattr) ||
    !isFn(stream.open)
  ) {
    throw new Error(
      "PGlite's Node.js filesystem (Emscripten NODEFS) is not the one Telemy knows: cannot keep the embedded store private",
    );
  }
  if (n[RESTRICTED]) return;
  n[RESTRICTED] = true;
  const { mknod, setattr } = node;
  const { setattr: streamSetattr, open } = stream;
  node.mknod = function (this: unknown, parent, name, mode, dev) {
    return mknod.call(this, parent, name, mode & OWNER_ONLY, dev);
  };
  node.setattr = function (this: unknown, target, attr) {
    setattr.call(this, target, ownerOnlyAttr(attr));
  };
  stream.setattr = function (this: unknown, target, attr) {
    streamSetattr.call(this, target, ownerOnlyAttr(attr));
  };
  stream.open = function (this: unknown, s) {
    open.call(this, s);
    // An open with O_CREAT of a file Emscripten already knows creates it on the host with Node's
    // default mode (0666 less the umask): take group and other away from whatever it opened.
    if (typeof s.nfd === 'number') {
      const mode = fs.fstatSync(s.nfd).mode & 0o7777;
      if (mode & 0o077) fs.fchmodSync(s.nfd, mode & OWNER_ONLY);
    }
  };
}

/** PGlite's Node.js filesystem, with every file it creates 0600 and every folder 0700. */
export class PrivateNodeFS extends NodeFS {
  override async init(pg: PGlite, opts: Parameters<NodeFS['init']>[1]) {
    const res = await super.init(pg, opts);
    const preRun = res.emscriptenOpts.preRun ?? [];
    // First, before NODEFS is mounted and anything is created.
    res.emscriptenOpts.preRun = [(mod) => restrictNodefs((mod as { NODEFS?: unknown }).NODEFS), ...preRun];
    return res;
  }
}

/**
 * Takes the group and other bits off `root` and everything under it (symbolic links are left alone,
 * never followed): repairs a store written before its files were kept private.
 */
export function restrictTree(root: string): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o7777;
    if (mode & 0o077) fs.chmodSync(p, mode & OWNER_ONLY);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(root);
}
