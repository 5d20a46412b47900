import type { SceneSwitchResultPayload, SwitchError, SwitchScenePayload } from '@telemy/protocol';

/** Executes one switch before `deadlineAt` (epoch ms): resolves with null on success or the error; must not throw. */
export type ExecuteSwitch = (scene: string, deadlineAt: number) => Promise<SwitchError | null>;

/**
 * Runs `switch_scene` requests strictly in arrival order, one at a time. Each deadline counts from
 * arrival; a request whose deadline passed while it waited its turn is answered `deadline_exceeded`
 * without touching OBS (a stale switch could put the wrong scene on air).
 */
export class SwitchExecutor {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly execute: ExecuteSwitch,
    private readonly reply: (result: SceneSwitchResultPayload, latencyMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue(req: SwitchScenePayload): void {
    const arrivedAt = this.now();
    const deadlineAt = arrivedAt + req.deadline_ms;
    this.tail = this.tail.then(async () => {
      const error: SwitchError | null =
        this.now() >= deadlineAt
          ? { code: 'deadline_exceeded', message: `waited ${req.deadline_ms} ms behind earlier switches` }
          : await this.execute(req.scene_name, deadlineAt);
      this.reply(
        {
          request_id: req.request_id,
          ok: error === null,
          error: error?.message ?? null,
          error_code: error?.code ?? null,
        },
        this.now() - arrivedAt,
      );
    });
  }

  /** Resolves when every queued request has been answered. */
  idle(): Promise<void> {
    return this.tail;
  }
}
