import fs from 'node:fs';
import path from 'node:path';
import { telemyPaths } from '@telemy/protocol';
import type { Attempt, Outcome } from './pipeline.js';

/** Format version carried by every record; readers refuse newer versions. */
export const AUDIT_FORMAT_VERSION = 1;

export interface ChatAuditRecord extends Attempt {
  v: typeof AUDIT_FORMAT_VERSION;
  type: 'chat_command';
  /** ISO 8601. */
  at: string;
  outcome: Outcome;
  detail: string;
  request_id: string;
}

export function auditRecord(
  attempt: Attempt,
  outcome: Outcome,
  detail: string,
  requestId: string,
  now: number,
): ChatAuditRecord {
  return {
    v: AUDIT_FORMAT_VERSION,
    type: 'chat_command',
    at: new Date(now).toISOString(),
    ...attempt,
    outcome,
    detail,
    request_id: requestId,
  };
}

export interface AuditLogOptions {
  /** Default `<telemyPaths().data>/audit`. */
  dir?: string;
  /** Rotate when the current file would grow past this size. Default 5 MiB. */
  maxBytes?: number;
  /** Files kept, the current one included. Default 5. */
  keep?: number;
}

export class AuditFormatError extends Error {}

/**
 * Append-only JSON-lines audit log, rotated by size: `audit.jsonl` is current, `audit.1.jsonl` the
 * previous one, up to `audit.<keep-1>.jsonl`. Appends are synchronous so records from concurrent
 * commands never interleave and a crash loses at most the line being written.
 */
export class AuditLog {
  readonly dir: string;
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private size: number;

  constructor(opts: AuditLogOptions = {}) {
    this.dir = opts.dir ?? path.join(telemyPaths().data, 'audit');
    this.file = path.join(this.dir, 'audit.jsonl');
    this.maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
    this.keep = Math.max(1, opts.keep ?? 5);
    fs.mkdirSync(this.dir, { recursive: true });
    this.size = fs.existsSync(this.file) ? fs.statSync(this.file).size : 0;
    this.checkVersion();
  }

  /** Refuses to append to a file written by a newer Telemy. */
  private checkVersion(): void {
    if (this.size === 0) return;
    const first = readFirstLine(this.file);
    let v: unknown;
    try {
      v = (JSON.parse(first) as { v?: unknown }).v;
    } catch {
      return;
    }
    if (typeof v === 'number' && v > AUDIT_FORMAT_VERSION) {
      throw new AuditFormatError(
        `${this.file} has audit format version ${v}, newer than ${AUDIT_FORMAT_VERSION}: upgrade Telemy or move the file away`,
      );
    }
  }

  rotatedPath(i: number): string {
    return i === 0 ? this.file : path.join(this.dir, `audit.${i}.jsonl`);
  }

  append(record: ChatAuditRecord): void {
    const line = `${JSON.stringify(record)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    fs.appendFileSync(this.file, line);
    this.size += bytes;
  }

  private rotate(): void {
    fs.rmSync(this.rotatedPath(this.keep - 1), { force: true });
    for (let i = this.keep - 2; i >= 0; i--) {
      const from = this.rotatedPath(i);
      if (fs.existsSync(from)) fs.renameSync(from, this.rotatedPath(i + 1));
    }
    this.size = 0;
  }
}

function readFirstLine(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n', 1)[0] ?? '';
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads one audit file; refuses records of a newer format version. */
export function readAuditFile(file: string): ChatAuditRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const r = JSON.parse(l) as ChatAuditRecord;
      if (r.v > AUDIT_FORMAT_VERSION)
        throw new AuditFormatError(`${file}: audit format version ${r.v} is newer`);
      return r;
    });
}
