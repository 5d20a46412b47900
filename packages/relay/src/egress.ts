import type dgram from 'node:dgram';
import type { Logger } from '@telemy/protocol';
import type { RelayAgentConfig } from './config.js';
import type { RelayMetrics } from './metrics.js';
import { freeUdpPort, isBadSecret, type SrtLauncher, srtListenerUri, udpBind } from './srt-launch.js';
import type { SupervisedProcess } from './supervised-process.js';

/**
 * The egress SRT listener OBS pulls from: an `srt-live-transmit` that reads the forwarded packets on
 * a loopback UDP port and knows whether a caller is connected.
 */
export class Egress {
  /** 1 while OBS (or another caller) is connected. */
  clients = 0;
  readonly process: SupervisedProcess;

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly inputPort: number,
    config: RelayAgentConfig,
    srt: SrtLauncher,
    metrics: RelayMetrics,
    log: Logger,
  ) {
    this.process = srt.supervise(
      {
        name: 'egress',
        onStart: () => {
          this.clients = 0;
        },
        onStderrLine: (line) => {
          if (line.includes('Accepted SRT target connection')) this.clients = 1;
          else if (line.includes('SRT target disconnected')) this.clients = 0;
          else if (isBadSecret(line)) {
            metrics.rejectedCallers.inc({ listener: 'egress' });
            log.warn('SRT egress caller rejected: wrong passphrase');
          }
        },
      },
      [
        `udp://127.0.0.1:${inputPort}`,
        srtListenerUri(config.bindHost, config.egressPort, config.egressPassphrase),
      ],
      config.egressPassphrase,
    );
  }

  static async open(config: RelayAgentConfig, srt: SrtLauncher, metrics: RelayMetrics, log: Logger) {
    const socket = await udpBind('127.0.0.1', 0);
    return new Egress(socket, await freeUdpPort(), config, srt, metrics, log);
  }

  forward(packet: Buffer): void {
    this.socket.send(packet, this.inputPort, '127.0.0.1');
  }

  /** After the ingest children stopped: nothing is forwarded any more. */
  closeSocket(): void {
    this.socket.close();
  }
}
