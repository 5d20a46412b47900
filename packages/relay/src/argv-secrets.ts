import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Logger, packageRoot, telemyPaths } from '@telemy/protocol';

/** What the agent writes on the command line where a secret goes (URI-safe, so it survives encoding). */
export const ARGV_SECRET_PLACEHOLDER = '(TELEMY_ARGV_SECRET)';

const SOURCE = path.join(packageRoot('@telemy/relay'), 'native', 'argv-secrets.c');

export interface Launch {
  command: string;
  args: string[];
  /** The child's environment; absent = the agent's own. */
  env?: NodeJS.ProcessEnv;
}

export interface ArgvSecrets {
  /** The preload library that fills secrets in, or null when they stay on the command line. */
  readonly library: string | null;
  /**
   * The launch of `program` with `secret` (as it appears in the arguments, raw or URI-encoded) taken
   * off the command line and handed over in the environment instead.
   */
  hide(launch: Launch, program: string, secret: string): Launch;
}

/**
 * Builds (once per source version, cached in the data folder) the preload library of
 * `native/argv-secrets.c` that keeps SRT passphrases out of `srt-live-transmit`'s command line.
 * The C compiler is the only way there: srt-live-transmit reads its passphrase from nowhere but a
 * URI argument. Without a compiler the agent still runs, says once that local users can read the
 * passphrases with `ps`, and passes them on the command line.
 */
export function argvSecrets(opts: {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  compiler?: string;
}): ArgvSecrets {
  const env = opts.env ?? process.env;
  const library = buildLibrary(
    opts.cacheDir ?? path.join(telemyPaths(env).data, 'relay-native'),
    opts.compiler ?? 'cc',
    opts.log,
  );
  return {
    library,
    hide(launch, program, secret) {
      if (library === null) return launch;
      const forms = [...new Set([secret, encodeURIComponent(secret)])];
      const base = launch.env ?? env;
      const found = forms.find((f) => launch.args.some((a) => a.includes(f)));
      if (found === undefined) return launch;
      return {
        command: launch.command,
        args: launch.args.map((a) => a.split(found).join(ARGV_SECRET_PLACEHOLDER)),
        env: {
          ...base,
          LD_PRELOAD: base.LD_PRELOAD ? `${library} ${base.LD_PRELOAD}` : library,
          TELEMY_ARGV_SECRET_PROGRAM: program,
          TELEMY_ARGV_SECRET: found,
        },
      };
    },
  };
}

function buildLibrary(dir: string, compiler: string, log: Logger): string | null {
  const exposed =
    'SRT passphrases go on srt-live-transmit command lines, where local users can read them with ps';
  let source: string;
  try {
    source = fs.readFileSync(SOURCE, 'utf8');
  } catch (err) {
    log.warn({ source: SOURCE, err: (err as Error).message }, `argv-secrets source missing: ${exposed}`);
    return null;
  }
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const library = path.join(dir, `argv-secrets-${hash}.so`);
  // LD_PRELOAD splits its list on spaces and colons.
  if (/[\s:]/.test(library)) {
    log.warn(
      { library },
      `the data folder's path has a space or colon, which LD_PRELOAD cannot take: ${exposed}`,
    );
    return null;
  }
  if (fs.existsSync(library)) return library;
  const tmp = `${library}.${process.pid}.tmp`;
  let why: string;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const built = spawnSync(compiler, ['-shared', '-fPIC', '-O2', '-o', tmp, SOURCE], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (!built.error && built.status === 0) {
      fs.renameSync(tmp, library);
      return library;
    }
    why = built.error ? built.error.message : built.stderr.trim().slice(0, 400);
  } catch (err) {
    why = (err as Error).message;
  }
  fs.rmSync(tmp, { force: true });
  log.warn(
    { compiler, why },
    `could not build the argv-secrets library (Debian: apt-get install -y gcc libc6-dev): ${exposed}`,
  );
  return null;
}
