// What the CLI needs from its host, injected: output streams, environment, files, fetch and the
// clock. bin/geogate.mjs wires Node's; tests pass their own, so the CLI's code reads no global
// state and runs in any JS runtime (it is type-checked with the Worker's types, no Node types).

/** A place to write text (stdout or stderr). */
export interface OutputStream {
  write(text: string): void;
  /** True when a terminal reads it: colours and progress lines are drawn only then. */
  readonly isTTY: boolean;
}

/** The CLI's view of its host. */
export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  /** Environment variables (tokens, NO_COLOR, GEOGATE_URL). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a UTF-8 text file; rejects with an Error whose message names the problem. */
  readFile(path: string): Promise<string>;
  /** Used by the admin commands only. */
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
  /** Epoch milliseconds, used when --now is not given. */
  now(): number;
}

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  OK: 0,
  /** The input was read but is not valid (policy, request, list), or a gate such as --fail-on-change tripped. */
  INVALID: 1,
  /** The command line is wrong: unknown command or flag, missing argument, unreadable file. */
  USAGE: 2,
  /** The admin API could not be reached or refused the call. */
  HTTP: 3,
} as const;

/** An expected failure that ends the command with an exit code and a message on stderr. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
