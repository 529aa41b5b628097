// What every command gets: the host (io), painters for each stream, and line printers.
import { painterFor, type Painter } from './format';
import type { CliIo } from './io';

/** Per-invocation state shared by the commands. */
export interface CliContext {
  io: CliIo;
  /** Paints for stdout. */
  paint: Painter;
  /** Paints for stderr. */
  paintErr: Painter;
  /** Writes a line to stdout. */
  out(line?: string): void;
  /** Writes a line to stderr. */
  err(line?: string): void;
}

/** The context for one run of the CLI. */
export function createContext(io: CliIo): CliContext {
  return {
    io,
    paint: painterFor(io.stdout, io.env),
    paintErr: painterFor(io.stderr, io.env),
    out: (line = '') => io.stdout.write(`${line}\n`),
    err: (line = '') => io.stderr.write(`${line}\n`),
  };
}

/** Prints a value as pretty JSON on stdout (the --json form of every command). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
