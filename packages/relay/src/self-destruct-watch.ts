import { spawn } from 'node:child_process';
import type { Logger } from '@telemy/protocol';
import type { RelayAgentConfig } from './config.js';
import type { HealthOutcome } from './health-reporter.js';
import { decideSelfDestruct, type SelfDestructReason } from './self-destruct.js';

/**
 * What `decideSelfDestruct` needs, gathered as it happens, and the check once a second (and as soon
 * as the control plane says the session is over).
 */
export class SelfDestructWatch {
  private lastContactAt: number | null = null;
  private sessionEndedStatus: number | null = null;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly config: RelayAgentConfig,
    private readonly servingSince: number,
    private readonly now: () => number,
    /** Last ingest packet on any link (null = none yet). */
    private readonly lastIngestAt: () => number | null,
    private readonly log: Logger,
    private readonly destroy: (reason: SelfDestructReason, detail: string) => void,
  ) {
    this.timer = setInterval(() => this.check(), 1_000);
  }

  /** The answer to a health report; true when it was a failure. */
  healthOutcome(o: HealthOutcome): boolean {
    if (o.kind === 'ok') this.lastContactAt = this.now();
    else if (o.kind === 'session_ended') {
      this.sessionEndedStatus = o.status;
      this.check();
    } else return true;
    return false;
  }

  private check(): void {
    if (this.stopped) return;
    const decision = decideSelfDestruct(
      {
        now: this.now(),
        servingSince: this.servingSince,
        lastControlPlaneContactAt: this.lastContactAt,
        sessionEndedStatus: this.sessionEndedStatus,
        lastIngestAt: this.lastIngestAt(),
      },
      {
        maxSessionSeconds: this.config.maxSessionSeconds,
        orphanAfterS: this.config.orphanAfterS,
        idleAfterS: this.config.idleAfterS,
      },
    );
    if (!decision.destroy) return;
    this.log.warn(
      { reason: decision.reason, detail: decision.detail },
      `self-destruct: ${decision.reason}: ${decision.detail}`,
    );
    this.destroy(decision.reason, decision.detail);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}

export function runShutdownCommand(command: string, log: Logger): void {
  log.warn({ command }, 'running the shutdown command');
  const child = spawn('sh', ['-c', command], { stdio: 'ignore' });
  child.on('error', (e) => log.error({ err: e.message }, 'shutdown command failed to start'));
  child.on('exit', (code) => {
    if (code !== 0) log.error({ code }, 'shutdown command failed');
  });
}
