import { createInterface } from 'node:readline';
import { importV2Vault } from '@telemy/engine/vault';
import type { Command } from 'commander';
import { CliError, openCliVault } from '../context.js';

/** `telemy vault set|get|list|delete|import-v2`. Values never come from argv unless --value. */
export function registerVault(program: Command): void {
  const vault = program.command('vault').description('manage secrets in the encrypted vault');

  vault
    .command('set')
    .description('store a secret; the value is read from stdin or a hidden prompt')
    .argument('<key>', 'entry name, e.g. obs_password')
    .option('--value <value>', 'take the value from the command line (visible in shell history: avoid)')
    .action(async (key: string, opts: { value?: string }) => {
      let value = opts.value;
      if (value !== undefined) {
        process.stderr.write(
          'warning: --value puts the secret in your shell history and process list; prefer stdin\n',
        );
      } else {
        value = await readSecret(`value for ${key}: `);
      }
      if (value === '') throw new CliError('empty value; nothing stored', 2);
      const v = await openCliVault();
      v.set(key, value);
      process.stdout.write(`stored ${key}\n`);
    });

  vault
    .command('get')
    .description('print a secret to stdout')
    .argument('<key>', 'entry name')
    .action(async (key: string) => {
      const value = (await openCliVault()).get(key);
      if (value === null) throw new CliError(`no vault entry named ${key}`);
      process.stdout.write(`${value}\n`);
    });

  vault
    .command('list')
    .description('list entry names (never values); a corrupted entry is marked')
    .action(async () => {
      const v = await openCliVault();
      const corrupted = new Set(v.corrupted());
      for (const name of v.list())
        process.stdout.write(
          corrupted.has(name)
            ? `${name} (corrupted: \`telemy vault set ${name}\` to replace it)\n`
            : `${name}\n`,
        );
    });

  vault
    .command('delete')
    .description('remove an entry')
    .argument('<key>', 'entry name')
    .action(async (key: string) => {
      if (!(await openCliVault()).delete(key)) throw new CliError(`no vault entry named ${key}`);
      process.stdout.write(`deleted ${key}\n`);
    });

  vault
    .command('import-v2')
    .description('import secrets from a Telemy v0.0.2 vault.json')
    .argument('<path>', 'the old vault.json')
    .action(async (file: string) => {
      const r = importV2Vault(file, await openCliVault());
      for (const name of r.imported) process.stdout.write(`imported ${name}\n`);
      for (const x of r.reenter)
        process.stdout.write(`re-enter with \`telemy vault set ${x.name}\`: ${x.reason}\n`);
      if (r.imported.length === 0 && r.reenter.length === 0) process.stdout.write('the old vault is empty\n');
    });
}

/** Reads one line: from a pipe as-is, from a terminal without echoing it. */
async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  out._writeToOutput = () => {};
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
