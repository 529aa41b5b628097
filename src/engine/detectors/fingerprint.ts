// Known relay fingerprints: RELAY_FINGERPRINT fires when the request's user agent or device id is
// one an operator listed (a relay's constant device id, the user agent it stamps on every end
// user's request). Items are exact, or prefixes when they end in `*`. Matching is case-sensitive,
// as the values are copied verbatim from traffic. PURE.
import { claimList, clip } from './timezone';
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';
import type { RequestView } from './geo';

/** Where a listed pattern came from: "policy", or a named list's name. */
interface SourcedPattern {
  readonly pattern: string;
  readonly source: string;
}

/** One kind of fingerprint (user agents or device ids), indexed. */
class PatternSet {
  readonly #exact = new Map<string, SourcedPattern>();
  readonly #prefixes: { readonly prefix: string; readonly at: SourcedPattern }[] = [];

  add(pattern: string, source: string): void {
    const at = { pattern, source };
    if (pattern.endsWith('*')) this.#prefixes.push({ prefix: pattern.slice(0, -1), at });
    else if (!this.#exact.has(pattern)) this.#exact.set(pattern, at);
  }

  get size(): number {
    return this.#exact.size + this.#prefixes.length;
  }

  match(value: string): SourcedPattern | undefined {
    const hit = this.#exact.get(value);
    if (hit) return hit;
    for (const p of this.#prefixes) if (value.startsWith(p.prefix)) return p.at;
    return undefined;
  }
}

/** The patterns of one source. */
export interface FingerprintSource {
  readonly source: string;
  readonly userAgents?: readonly string[];
  readonly devices?: readonly string[];
}

/** The policy's relay fingerprints: inline patterns and named `user-agent` / `device` lists. */
export class Fingerprints {
  readonly #userAgents = new PatternSet();
  readonly #devices = new PatternSet();

  constructor(sources: readonly FingerprintSource[]) {
    for (const s of sources) {
      for (const p of s.userAgents ?? []) this.#userAgents.add(p, s.source);
      for (const p of s.devices ?? []) this.#devices.add(p, s.source);
    }
  }

  /** Whether any pattern is listed. */
  get empty(): boolean {
    return this.#userAgents.size === 0 && this.#devices.size === 0;
  }

  /**
   * The listed pattern a device id or the user agent matches (devices first). A repeated
   * User-Agent header arrives joined with ", ": each joined part is tried too (a browser's own
   * user agent contains ", " as well, so the whole value is tried first), so that repeating a
   * header never hides a listed value.
   */
  match(userAgent: string | undefined, deviceIds: readonly string[]): { by: 'device' | 'user-agent'; value: string; at: SourcedPattern } | undefined {
    for (const id of deviceIds) {
      const d = this.#devices.match(id.trim());
      if (d) return { by: 'device', value: id, at: d };
    }
    if (userAgent === undefined || this.#userAgents.size === 0) return undefined;
    const whole = this.#userAgents.match(userAgent);
    if (whole) return { by: 'user-agent', value: userAgent, at: whole };
    if (!userAgent.includes(',')) return undefined;
    for (const part of userAgent.split(',')) {
      const u = this.#userAgents.match(part.trim());
      if (u) return { by: 'user-agent', value: userAgent, at: u };
    }
    return undefined;
  }
}

const NO_FINGERPRINT = undetermined('no user agent or device id');

/** RELAY_FINGERPRINT for one request. */
export function detectFingerprint(view: RequestView, fingerprints: Fingerprints): Signal {
  if (fingerprints.empty) return SIGNAL_FALSE;
  const { userAgent, deviceId } = view.facts.client;
  // A blank device id names no device (as in the memory).
  const devices = claimList(deviceId).filter((d) => d.trim() !== '');
  if (userAgent === undefined && devices.length === 0) return NO_FINGERPRINT;
  const hit = fingerprints.match(userAgent, devices);
  if (!hit) return SIGNAL_FALSE;
  const where = hit.at.source === 'policy' ? 'the policy' : `list ${hit.at.source}`;
  return {
    value: true,
    message: `The ${hit.by === 'device' ? 'device id' : 'user agent'} ${JSON.stringify(clip(hit.value))} matches the known relay fingerprint ${JSON.stringify(clip(hit.at.pattern))} (${where}).`,
    evidence: { matchedBy: hit.by, value: clip(hit.value), pattern: clip(hit.at.pattern), source: hit.at.source },
  };
}
