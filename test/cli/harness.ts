// Runs the CLI's main() in-process with captured streams, real files and an injected fetch, so
// CLI tests read like a terminal session: argv in, exit code and output out.
import { readFile } from 'node:fs/promises';
import { main } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';

/** What one run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  /** Both streams report being a terminal (colours, progress). */
  tty?: boolean;
  fetch?: CliIo['fetch'];
  /** Epoch ms returned by io.now(). */
  now?: number;
}

/** Runs `geogate ...argv` and captures everything. */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s) => void (stdout += s), isTTY: options.tty ?? false },
    stderr: { write: (s) => void (stderr += s), isTTY: options.tty ?? false },
    env: options.env ?? {},
    readFile: (path) => readFile(path, 'utf8'),
    fetch: options.fetch ?? (() => Promise.reject(new Error('no network in this test'))),
    now: () => options.now ?? Date.parse('2026-11-26T12:00:00Z'),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
