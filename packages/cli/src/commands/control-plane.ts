import type { ControlPlaneRole } from '@telemy/control-plane';
import { createLogger } from '@telemy/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from '../context.js';

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('a port is an integer 0-65535');
  return n;
}

/** The control plane (PGlite, pg, fastify, jose) loads only when a control-plane command runs. */
const controlPlane = () => import('@telemy/control-plane');

async function storeName(env: NodeJS.ProcessEnv): Promise<string> {
  return env.TELEMY_DATABASE_URL
    ? 'PostgreSQL (TELEMY_DATABASE_URL)'
    : `PGlite in ${(await controlPlane()).pgliteDataDir(env)}`;
}

/** `telemy control-plane [--role] [--port] [--host]` and `telemy control-plane migrate`. */
export function registerControlPlane(program: Command): void {
  const cmd = program
    .command('control-plane')
    .description(
      'run the control plane API and/or its jobs (PostgreSQL via TELEMY_DATABASE_URL, else PGlite in the data folder)',
    )
    .addOption(
      new Option('--role <role>', 'what this process runs').choices(['all', 'api', 'jobs']).default('all'),
    )
    .addOption(
      new Option('--port <n>', 'port to listen on (0 = any free port)')
        .env('TELEMY_CP_PORT')
        .default(8080)
        .argParser(parsePort),
    )
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    // Internal: how the engine starts its embedded control plane (secrets on stdin, see embedded-cloud.ts).
    .addOption(new Option('--embedded').hideHelp())
    .addHelpText(
      'after',
      '\nEnvironment: TELEMY_DATABASE_URL, TELEMY_JWT_SECRET or TELEMY_JWT_PRIVATE_KEY/TELEMY_JWT_PUBLIC_KEY,\n' +
        'TELEMY_CP_PORT (8080), TELEMY_RELAY_PROVIDER (local|aws), TELEMY_PUBLIC_URL (what relays call back).',
    )
    .action(async (opts: { role: ControlPlaneRole; port: number; host: string; embedded?: boolean }) => {
      if (opts.embedded) {
        if (opts.role !== 'all') throw new CliError('--embedded runs every role; leave --role out', 2);
        const { runEmbeddedControlPlane } = await import('../embedded-control-plane.js');
        return runEmbeddedControlPlane(opts);
      }
      const log = createLogger('control-plane', { destination: process.stderr });
      const cp = await controlPlane();
      const running = await cp.runControlPlane({
        role: opts.role,
        port: opts.port,
        host: opts.host,
        logger: log,
      });
      process.stdout.write(
        `telemy control plane (role ${opts.role}) listening on ${running.url} — store: ${await storeName(process.env)}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.close();
    });

  cmd
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const cp = await controlPlane();
      const db = await cp.openDatabase();
      try {
        const applied = await cp.migrate(db);
        const latest = cp.loadMigrations().at(-1)?.version ?? 0;
        process.stdout.write(
          applied.length > 0
            ? `applied migrations ${applied.join(', ')} (schema version ${latest}) to ${await storeName(process.env)}\n`
            : `schema is up to date (version ${latest}) in ${await storeName(process.env)}\n`,
        );
      } finally {
        await db.close();
      }
    });
}
