// The processes a proxy test starts (nginx, Caddy), each in a process group of its own, stopped by
// its PID: SIGTERM, then SIGKILL after a bound. Whatever a test leaves running (a failed start, a
// hook that timed out) is killed when the test process exits, pass or fail.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { exited, signalGroup } from '../node/process-group';

/** A started process. */
export interface Started {
  readonly name: string;
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Stops it (and its workers) by its PID; safe to call more than once. */
  stop(): Promise<void>;
}

/** Process groups still running, killed on exit if nobody stopped them. */
const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) signalGroup(pid, 'SIGKILL');
});

/** Options of {@link start}. */
export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The loopback port it serves once ready. */
  readonly port: number;
  /** How long it may take to listen (default 15 s: a busy 2-core machine). */
  readonly readyMs?: number;
}

/** Spawns `file args` in a process group of its own and waits until it accepts connections on `port`. */
export async function start(name: string, file: string, args: readonly string[], options: StartOptions): Promise<Started> {
  const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('spawn', () => (child.pid === undefined ? reject(new Error(`${name}: no pid`)) : resolve(child.pid)));
  });
  running.add(spawned);
  let stopped: Promise<void> | undefined;
  const started: Started = {
    name,
    pid: spawned,
    output: () => output,
    stop: () =>
      (stopped ??= (async () => {
        signalGroup(spawned, 'SIGTERM');
        if (!(await exited(child, 5_000))) signalGroup(spawned, 'SIGKILL');
        await exited(child, 2_000);
        // nginx's workers leave a moment after their master: make sure the group is gone.
        signalGroup(spawned, 'SIGKILL');
        running.delete(spawned);
      })()),
  };
  try {
    await waitForPort(options.port, options.readyMs ?? 15_000, () => (child.exitCode !== null || child.signalCode !== null ? `${name} exited (${child.exitCode ?? child.signalCode})` : undefined));
  } catch (err) {
    await started.stop();
    throw new Error(`${name} did not start: ${(err as Error).message}\n${output}`, { cause: err });
  }
  return started;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls until the port accepts connections; `gone` names why waiting is pointless (the process died). */
async function waitForPort(port: number, ms: number, gone: () => string | undefined): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await accepts(port)) return;
    const why = gone();
    if (why !== undefined) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
