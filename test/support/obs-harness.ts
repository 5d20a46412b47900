/**
 * Headless OBS Studio for integration tests.
 *
 * `startObs()` runs a real OBS 29 (obs-websocket 5.1) under Xvfb with its own temporary HOME, a
 * chosen obs-websocket port and password, waits until a client can identify, and creates the
 * requested scenes (each with a colour source, so a stream carries real video). The returned
 * `ObsHandle` drives OBS for assertions and stops it by process group.
 *
 * ```ts
 * const obs = await startObs({ port: 44550, password: 'pw-for-tests', scenes: ['Main', 'BRB'] });
 * await obs.setScene('BRB');
 * await obs.setSrtStreamTarget('srt://127.0.0.1:45000');
 * await obs.startStream();
 * await obs.stop();
 * ```
 *
 * Ports: each test file picks its own fixed obs-websocket port (OBS has no "port 0").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OBSWebSocket from 'obs-websocket-js';

export interface StartObsOptions {
  /** obs-websocket port (tests use fixed ports from their own range). */
  port: number;
  /** obs-websocket password; omitted → a random one. `null` → authentication disabled. */
  password?: string | null;
  /** Scenes to create after start, each with a colour source. The first becomes the program scene. */
  scenes?: string[];
  /** How long to wait for obs-websocket to accept an identified connection. Default 40 s. */
  readyTimeoutMs?: number;
  /** Reuse an existing HOME (used by `restart()`); a fresh temp dir otherwise. */
  home?: string;
}

export interface ObsHandle {
  readonly port: number;
  readonly password: string | null;
  /** Process id of the `obs` process itself (changes on restart). */
  readonly pid: number;
  /** Process group of xvfb-run + Xvfb + obs (changes on restart). */
  readonly pgid: number;
  /** The temporary HOME holding OBS's config, profile, scene collection and logs. */
  readonly home: string;
  /** `ws://127.0.0.1:<port>` */
  readonly url: string;
  /** OBS's scene collection file; edit it while OBS is stopped to make it come back different. */
  readonly sceneCollectionFile: string;
  /** A connected, identified obs-websocket-js client owned by the harness (reconnected on restart). */
  client(): Promise<OBSWebSocket>;
  /** Creates a scene with a colour source in it. */
  createScene(name: string): Promise<void>;
  /** Switches the program scene and resolves once OBS reports it as current. */
  setScene(name: string): Promise<void>;
  currentScene(): Promise<string>;
  /** Points the stream output at an SRT URL (`rtmp_custom` service with an `srt://` server). */
  setSrtStreamTarget(url: string): Promise<void>;
  /** Starts streaming and resolves once the stream output is active. */
  startStream(): Promise<void>;
  /** Stops streaming and resolves once the stream output is inactive. */
  stopStream(): Promise<void>;
  /** SIGTERM to the whole process group, SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group (simulates a crash); resolves when it has exited. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT on the obs process: its socket stays open but stops answering. */
  freeze(): void;
  thaw(): void;
  /** Stops OBS and starts it again with the same HOME, port and password; waits until ready. */
  restart(): Promise<void>;
  /** The last `lines` lines of OBS's stdout/stderr. */
  logTail(lines?: number): string;
  /** Stops OBS (if running) and deletes HOME. */
  dispose(): Promise<void>;
}

const OBS_ARGS = [
  '-a',
  '-s',
  '-screen 0 1280x720x24',
  'obs',
  '--multi',
  '--disable-shutdown-check',
  '--minimize-to-tray',
];

export async function startObs(opts: StartObsOptions): Promise<ObsHandle> {
  const password =
    opts.password === undefined ? `pw-${Math.random().toString(36).slice(2, 12)}` : opts.password;
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'telemy-obs-'));
  writeObsConfig(home, opts.port, password);
  const url = `ws://127.0.0.1:${opts.port}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 40_000;
  const logFile = join(home, 'obs-stdout.log');

  let proc = await launch(home, logFile, url, password, readyTimeoutMs);
  let ws: OBSWebSocket | null = null;

  const logTail = (lines = 40): string => tailOf(logFile, lines);

  const client = async (): Promise<OBSWebSocket> => {
    if (ws?.identified) return ws;
    ws = new OBSWebSocket();
    await ws.connect(url, password ?? undefined);
    return ws;
  };

  const closeClient = async (): Promise<void> => {
    const c = ws;
    ws = null;
    if (c) await c.disconnect().catch(() => undefined);
  };

  const createScene = async (name: string): Promise<void> => {
    const c = await client();
    await c.call('CreateScene', { sceneName: name });
    // A distinct colour per scene makes switches visible in recordings; input names are global.
    const color = 0xff000000 | (hash(name) & 0xffffff);
    await c.call('CreateInput', {
      sceneName: name,
      inputName: `${name} colour`,
      inputKind: 'color_source_v3',
      inputSettings: { color, width: 1280, height: 720 },
    });
  };

  const currentScene = async (): Promise<string> => {
    const c = await client();
    const r = await c.call('GetCurrentProgramScene');
    return r.currentProgramSceneName;
  };

  const setScene = async (name: string): Promise<void> => {
    const c = await client();
    await c.call('SetCurrentProgramScene', { sceneName: name });
    await waitFor(async () => (await currentScene()) === name, 5_000, `scene ${name} to become current`);
  };

  const streamActive = async (): Promise<boolean> =>
    (await (await client()).call('GetStreamStatus')).outputActive;

  const handle: ObsHandle = {
    port: opts.port,
    password,
    home,
    url,
    sceneCollectionFile: join(home, '.config', 'obs-studio', 'basic', 'scenes', 'Telemy.json'),
    get pid() {
      return proc.obsPid;
    },
    get pgid() {
      return proc.pgid;
    },
    client,
    createScene,
    setScene,
    currentScene,
    async setSrtStreamTarget(target: string) {
      const c = await client();
      await c.call('SetStreamServiceSettings', {
        streamServiceType: 'rtmp_custom',
        streamServiceSettings: { server: target, key: '' },
      });
    },
    async startStream() {
      await (await client()).call('StartStream');
      // OBS accepts a start sent while its last output is still being torn down, then does nothing.
      const started = await waitFor(streamActive, 3_000, 'the stream output to become active').then(
        () => true,
        () => false,
      );
      if (started) return;
      await (await client()).call('StartStream').catch(() => undefined);
      await waitFor(streamActive, 10_000, 'the stream output to become active');
    },
    async stopStream() {
      await (await client()).call('StopStream');
      await waitFor(async () => !(await streamActive()), 10_000, 'the stream output to stop');
    },
    async stop() {
      await closeClient();
      await terminate(proc, 'SIGTERM');
    },
    async kill() {
      await closeClient();
      await terminate(proc, 'SIGKILL');
    },
    freeze() {
      process.kill(proc.obsPid, 'SIGSTOP');
    },
    thaw() {
      process.kill(proc.obsPid, 'SIGCONT');
    },
    async restart() {
      await handle.stop();
      proc = await launch(home, logFile, url, password, readyTimeoutMs);
    },
    logTail,
    async dispose() {
      await handle.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };

  try {
    for (const scene of opts.scenes ?? []) await createScene(scene);
    const first = opts.scenes?.[0];
    if (first) await setScene(first);
  } catch (err) {
    await handle.dispose();
    throw err;
  }
  return handle;
}

interface RunningObs {
  child: ChildProcess;
  pgid: number;
  obsPid: number;
  exited: Promise<void>;
  /** Set when the harness itself stops OBS; any other exit is a crash and prints OBS's log. */
  stopping: boolean;
}

async function launch(
  home: string,
  logFile: string,
  url: string,
  password: string | null,
  timeoutMs: number,
): Promise<RunningObs> {
  const fd = openSync(logFile, 'a');
  // detached → own session and process group, so xvfb-run, Xvfb and obs die together.
  const child = spawn('xvfb-run', OBS_ARGS, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), LIBGL_ALWAYS_SOFTWARE: '1' },
  });
  closeSync(fd);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error('could not spawn xvfb-run (is the xvfb package installed?)');
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      // A test that then fails only says "connection refused": the log says why OBS went.
      if (!running.stopping && running.obsPid !== -1)
        process.stderr.write(
          `OBS on ${url} exited unexpectedly (${signal ?? code}).\n${tailOf(logFile, 60)}\n`,
        );
      resolve();
    });
  });
  const running: RunningObs = { child, pgid, obsPid: -1, exited, stopping: false };

  const deadline = Date.now() + timeoutMs;
  let lastError = 'not tried yet';
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(
        `OBS exited (code ${exitCode}) before obs-websocket was ready.\n${tailOf(logFile, 40)}`,
      );
    }
    const probe = new OBSWebSocket();
    try {
      await probe.connect(url, password ?? undefined);
      await probe.disconnect();
      running.obsPid = findObsPid(pgid);
      return running;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(250);
  }
  await terminate(running, 'SIGKILL');
  throw new Error(
    `OBS did not accept an obs-websocket connection on ${url} within ${timeoutMs} ms (last error: ${lastError}).\n` +
      tailOf(logFile, 40),
  );
}

async function terminate(running: RunningObs, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  running.stopping = true;
  if (running.child.exitCode !== null || running.child.signalCode !== null) {
    await waitGroupGone(running.pgid, 2_000);
    return;
  }
  signalGroup(running.pgid, signal);
  const timedOut = await Promise.race([running.exited.then(() => false), sleep(5_000).then(() => true)]);
  if (timedOut) signalGroup(running.pgid, 'SIGKILL');
  await running.exited;
  // xvfb-run exits once its child does; make sure obs and Xvfb have gone as well.
  if (!(await waitGroupGone(running.pgid, 5_000))) {
    signalGroup(running.pgid, 'SIGKILL');
    await waitGroupGone(running.pgid, 5_000);
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Group already gone.
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

function findObsPid(pgid: number): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      if (comm === 'obs' && Number(fields[2]) === pgid) return Number(entry);
    } catch {
      // Process vanished while scanning.
    }
  }
  throw new Error(`obs process not found in process group ${pgid}`);
}

function writeObsConfig(home: string, port: number, password: string | null): void {
  const dir = join(home, '.config', 'obs-studio');
  const profileDir = join(dir, 'basic', 'profiles', 'Telemy');
  const scenesDir = join(dir, 'basic', 'scenes');
  mkdirSync(profileDir, { recursive: true });
  mkdirSync(scenesDir, { recursive: true });
  // FirstRun=true means "the first run already happened": no auto-configuration wizard.
  writeFileSync(
    join(dir, 'global.ini'),
    [
      '[General]',
      'FirstRun=true',
      'LastVersion=486539266',
      'Pre19Defaults=false',
      'Pre21Defaults=false',
      'Pre23Defaults=false',
      'Pre24.1Defaults=false',
      'EnableAutoUpdates=false',
      '',
      '[Basic]',
      'Profile=Telemy',
      'ProfileDir=Telemy',
      'SceneCollection=Telemy',
      'SceneCollectionFile=Telemy',
      '',
      '[OBSWebSocket]',
      'FirstLoad=false',
      'ServerEnabled=true',
      `ServerPort=${port}`,
      `AuthRequired=${password !== null}`,
      `ServerPassword=${password ?? ''}`,
      'AlertsEnabled=false',
      '',
    ].join('\n'),
  );
  if (!existsSync(join(profileDir, 'basic.ini'))) {
    writeFileSync(
      join(profileDir, 'basic.ini'),
      [
        '[General]',
        'Name=Telemy',
        '',
        '[Video]',
        'BaseCX=1280',
        'BaseCY=720',
        'OutputCX=1280',
        'OutputCY=720',
        'FPSType=0',
        'FPSCommon=30',
        '',
        '[Output]',
        'Mode=Simple',
        '',
        '[SimpleOutput]',
        'VBitrate=2500',
        'ABitrate=160',
        'StreamEncoder=x264',
        'Preset=veryfast',
        '',
      ].join('\n'),
    );
  }
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no OBS log)';
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
