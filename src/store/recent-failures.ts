// How /healthz reads an isolate's recent experience of a dependency it calls on requests (the
// account and organisation memory objects, the clearance revocation reads): degraded while the
// last call failed and nothing has answered since, for at most a hold period.

/** An isolate's recent experience of one dependency (module state: one per isolate). */
export interface RecentCalls<K extends string> {
  lastOk: number | undefined;
  lastFailure: { readonly at: number; readonly kind: K } | undefined;
  failures: number;
}

/** What /healthz says of one dependency. */
export interface RecentStatus<K extends string> {
  status: 'ok' | 'degraded';
  failures: number;
  lastFailure?: { at: string; kind: K };
}

/**
 * The dependency's status at `now`: degraded while its last failure is newer than its last success
 * (or `unresolved` says a part of it has not answered since), for at most `holdMs`.
 */
export function recentStatus<K extends string>(h: RecentCalls<K>, now: number, holdMs: number, unresolved = false): RecentStatus<K> {
  const f = h.lastFailure;
  const failing = f !== undefined && (h.lastOk === undefined || f.at > h.lastOk || unresolved) && now - f.at < holdMs;
  return { status: failing ? 'degraded' : 'ok', failures: h.failures, ...(f ? { lastFailure: { at: new Date(f.at).toISOString(), kind: f.kind } } : {}) };
}
