// Where decision logs go: the `DECISIONS` Analytics Engine dataset and the Worker's log
// (docs/decision-logs.md). Writing never throws and never waits: a missing binding (local dev
// without it), a binding that throws or a log that cannot be serialised costs the log, never the
// decision. The records themselves are built by decision-log.ts (pure).
import { hmacHex } from '../accounts/sql';
import { decisionDataPoint, decisionLogLine, ipHashInput, isSampled, type DecisionLogInput } from './decision-log';

/** The bindings decision logs use; every one optional. */
export interface DecisionLogBindings {
  /** The Analytics Engine dataset (wrangler.toml `[[analytics_engine_datasets]]`). */
  readonly DECISIONS?: AnalyticsEngineDataset | undefined;
  /** The secret the IP hash is keyed with (shared with the account memory, with its own derived key). */
  readonly MEMORY_HASH_SECRET?: string | undefined;
}

/** Label of the key derived from MEMORY_HASH_SECRET for decision logs (domain separation from the memory objects). */
export const DECISION_LOG_KEY_LABEL = 'geogate:decision-log:v1';

let cached: { secret: string; key: Promise<CryptoKey | undefined> } | undefined;

/**
 * The HMAC key of decision-log IP hashes: the text of hmacHex(MEMORY_HASH_SECRET,
 * {@link DECISION_LOG_KEY_LABEL}), so an operator holding the secret can recompute a hash
 * (docs/decision-logs.md), and the hashes match nothing the memory objects store. Derived once
 * per isolate and secret.
 */
function decisionLogKey(secret: string): Promise<CryptoKey | undefined> {
  if (cached?.secret !== secret) {
    const key = (async () => {
      const encode = (s: string) => new TextEncoder().encode(s);
      const master = await crypto.subtle.importKey('raw', encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const derived = await hmacHex(master, DECISION_LOG_KEY_LABEL);
      return crypto.subtle.importKey('raw', encode(derived), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    })().catch(() => undefined);
    cached = { secret, key };
  }
  return cached.key;
}

/**
 * The keyed hash of `ip` for decision logs: HMAC-SHA-256 (first 16 bytes, hex) of `ip:<canonical
 * address>` under {@link decisionLogKey}. Undefined without an address or without
 * MEMORY_HASH_SECRET (an unkeyed hash of an IPv4 address is reversed by trying all 2^32). Never
 * rejects; start it early and await it when the decision is made.
 */
export async function decisionIpHash(secret: string | undefined, ip: string | undefined): Promise<string | undefined> {
  const text = ipHashInput(ip);
  if (text === undefined || secret === undefined || secret === '') return undefined;
  try {
    const key = await decisionLogKey(secret);
    return key && (await hmacHex(key, text));
  } catch {
    return undefined;
  }
}

/**
 * Logs one decision when `draw` (uniform in [0, 1)) samples it: at most one data point to
 * `DECISIONS` (fire-and-forget: Analytics Engine writes are not awaited) and one JSON line to the
 * Worker's log. Never throws; a failing sink is reported on the log, never to the caller.
 */
export function writeDecisionLog(bindings: DecisionLogBindings, input: DecisionLogInput, draw: number = Math.random()): void {
  try {
    if (!isSampled(input.settings, draw)) return;
    try {
      bindings.DECISIONS?.writeDataPoint(decisionDataPoint(input));
    } catch (e) {
      console.warn(JSON.stringify({ event: 'geogate.decision-log.failed', sink: 'DECISIONS', requestId: input.decision.requestId, error: e instanceof Error ? e.name : 'error' }));
    }
    console.log(JSON.stringify(decisionLogLine(input)));
  } catch {
    // A log that cannot be built or printed is lost; the decision it describes is not.
  }
}
