// --now: an ISO-8601 instant with an offset, as golden files and decision logs write it.
import { CliError, EXIT } from '../io';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an ISO-8601 instant with a zone designator; a usage error otherwise. */
export function parseInstant(text: string): number {
  const ms = ISO_INSTANT.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new CliError(EXIT.USAGE, `--now must be an ISO-8601 instant with an offset, such as 2026-11-26T12:00:00Z (got ${JSON.stringify(text)})`);
  return ms;
}

/** Epoch ms of an instant found in data (a log line's evaluatedAt), or undefined. */
export function readInstant(value: unknown): number | undefined {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
