import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import type { Logger } from '@telemy/protocol';
import { argvSecrets } from './argv-secrets.js';
import { parentDeathLauncher } from './parent-death.js';
import { SupervisedProcess, type SupervisedProcessOptions } from './supervised-process.js';

export function udpBind(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** A loopback UDP port free a moment ago, for a child to bind. */
export async function freeUdpPort(): Promise<number> {
  const probe = await udpBind('127.0.0.1', 0);
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

export function srtListenerUri(
  host: string,
  port: number,
  passphrase: string,
  latencyMs: number | null = null,
  reorderPackets: number | null = null,
): string {
  const h = host === '0.0.0.0' ? '' : host;
  const latency = latencyMs === null ? '' : `&latency=${latencyMs}`;
  const reorder = reorderPackets === null ? '' : `&lossmaxttl=${reorderPackets}`;
  return `srt://${h}:${port}?mode=listener&passphrase=${encodeURIComponent(passphrase)}${latency}${reorder}`;
}

/** `srt-live-transmit` children that die with the agent and keep their passphrase off `ps`. */
export interface SrtLauncher {
  supervise(
    opts: Omit<SupervisedProcessOptions, 'command' | 'args' | 'env' | 'log'>,
    args: string[],
    passphrase: string,
  ): SupervisedProcess;
}

export function srtLauncher(srtBin: string, log: Logger): SrtLauncher {
  if (spawnSync(srtBin, ['-version'], { stdio: 'ignore' }).error) {
    throw new Error(
      `${srtBin} not found: the relay moves media with it (Debian: apt-get install -y srt-tools, or set TELEMY_RELAY_SRT_LIVE_TRANSMIT)`,
    );
  }
  const launcher = parentDeathLauncher();
  if (!launcher.setpriv) {
    log.warn(
      'setpriv --pdeathsig unavailable (util-linux): srt-live-transmit children would outlive a killed agent',
    );
  }
  // Passphrases reach srt-live-transmit through its environment, not its command line (`ps`).
  const secrets = argvSecrets({ log });
  return {
    supervise: (opts, args, passphrase) =>
      new SupervisedProcess({
        ...opts,
        ...secrets.hide(launcher.wrap(srtBin, args), srtBin, passphrase),
        log,
      }),
  };
}

/** The line srt-live-transmit logs when a caller's passphrase is wrong. */
export const isBadSecret = (line: string): boolean => /connection rejected due to:.*BADSECRET/.test(line);
