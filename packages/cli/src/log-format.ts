import type { DestinationStream } from 'pino';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Human lines for a person at a terminal; JSON lines for files, pipes and log collectors. */
export function defaultLogFormat(stream: { isTTY?: boolean }): LogFormat {
  return stream.isTTY === true ? 'pretty' : 'json';
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** Fields every line has, or that the line's head already shows. */
const HEAD_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'component', 'msg']);

function showValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object' && 'message' in v && 'type' in v) {
    // A serialized error: its type and words; the stack stays in the JSON format.
    const e = v as { type: unknown; message: unknown };
    return JSON.stringify(`${String(e.type)}: ${String(e.message)}`);
  }
  return JSON.stringify(v) ?? String(v);
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * One pino JSON line as `HH:MM:SS.mmm LEVEL name/component message key=value …` (local time).
 * A line that is not a pino object is passed through unchanged.
 */
export function prettyLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${line}\n`;
  }
  if (o === null || typeof o !== 'object' || typeof o.level !== 'number') return `${line}\n`;
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const level = (LEVELS[o.level] ?? String(o.level)).padEnd(5);
  const who = [o.name, o.component].filter((x) => typeof x === 'string' && x !== '').join('/');
  const fields = Object.entries(o)
    .filter(([k, v]) => !HEAD_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${showValue(v)}`);
  return `${[time, level, who, typeof o.msg === 'string' ? o.msg : '', ...fields].filter((p) => p !== '').join(' ')}\n`;
}

/** A pino destination that writes human lines to `out` (pino hands it one JSON line per write). */
export function prettyDestination(out: { write(s: string): unknown }): DestinationStream {
  return { write: (line: string) => void out.write(prettyLogLine(line.trimEnd())) };
}
