/** How a bench reads its options and reports a failure. */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** An option's value as a whole number of at least `min`, or an error that names the option. */
export function integerOption(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
}

/** `--count N` (at least `min`) and `--out FILE`: how many spans a bench times and where its report goes. */
export function countAndOut(defaults: { count: number; min: number; out: string }): {
  count: number;
  out: string;
} {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: String(defaults.count) },
      out: { type: 'string', default: defaults.out },
    },
  });
  return { count: integerOption(values.count, 'count', defaults.min), out: values.out };
}

/**
 * Runs a bench's `main` when its file is the one node was started with (a bench that exports its
 * measurement for other scripts passes its `import.meta.url`); a failure is printed and exits 1.
 */
export function runMain(name: string, main: () => Promise<void>, moduleUrl?: string): void {
  if (moduleUrl !== undefined && (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href))
    return;
  main().catch((e) => {
    process.stderr.write(
      `${name} bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  });
}
