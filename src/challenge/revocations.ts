// Per-account revocation of clearances, in Workers KV (docs/storage-schema.md): one key per
// account that was ever revoked, read only when a request presents a clearance that names an
// account. KV is eventually consistent: a revocation reaches every location within about a
// minute (rotate CLEARANCE_SECRET to revoke every clearance at once).
// Unreadable, late or corrupt data reads as `unknown`, which the engine treats as "not cleared":
// a clearance opens a door, so doubt keeps it shut (promise 1).
import { revocationKey } from '../policy/keys';
import { sha256Hex } from '../policy/snapshot';
import { beforeDeadline, LATE } from '../store/deadline';
import { recentStatus, type RecentCalls, type RecentStatus } from '../store/recent-failures';

/** How long a check waits for the revocation read before treating it as unknown. */
export const REVOCATION_READ_BUDGET_MS = 200;

/** Edge cache of revocation reads (KV's minimum): how late a revocation may be seen elsewhere. */
const READ_CACHE_TTL_SECONDS = 60;

/** The longest clearance a policy can issue (challenge.clearanceTtlSeconds' maximum), plus a day. */
const KEEP_SECONDS = 604_800 + 86_400;

/** The stored value. */
interface StoredRevocation {
  geogate: 'clearance-revocation';
  schema: 1;
  /** ISO instant: clearances of the account issued at or before it are revoked. */
  revokedAt: string;
  revokedBy: string;
}

/** Where revocations live: the POLICY namespace, or a test double. */
export type RevocationKv = Pick<KVNamespace, 'get' | 'put'>;

/** Why a revocation read counted as unknown. */
export type RevocationFailureKind = 'timeout' | 'unavailable' | 'invalid';

/** The isolate's recent experience of revocation reads, for /healthz (module state: one per isolate). */
export const revocationHealth: RecentCalls<RevocationFailureKind> = { lastOk: undefined, lastFailure: undefined, failures: 0 };

/** How long a failed read keeps the revocations degraded when no read succeeded since. */
export const REVOCATION_FAILURE_HOLD_MS = 5 * 60_000;

/**
 * The revocation reads' health at `now`: degraded while the last read failed (storage threw,
 * answered past the budget, or held a value not of the documented shape), for at most
 * REVOCATION_FAILURE_HOLD_MS. Meanwhile every clearance naming an account is CLEARANCE_INVALID
 * (`revocation-unknown`): users who passed a challenge are challenged again.
 */
export function revocationStatus(now: number): RecentStatus<RevocationFailureKind> {
  return recentStatus(revocationHealth, now, REVOCATION_FAILURE_HOLD_MS);
}

function unknown(kind: RevocationFailureKind): 'unknown' {
  revocationHealth.lastFailure = { at: Date.now(), kind };
  revocationHealth.failures++;
  return 'unknown';
}

/**
 * When the account's clearances were last revoked (epoch ms), undefined when never, `unknown`
 * when storage failed, answered late or holds something unreadable (noted for /healthz).
 */
export async function revokedAt(kv: RevocationKv, account: string, budgetMs = REVOCATION_READ_BUDGET_MS): Promise<number | undefined | 'unknown'> {
  let text: string | null | typeof LATE;
  try {
    const key = revocationKey(await sha256Hex(account));
    text = await beforeDeadline(kv.get(key, { type: 'text', cacheTtl: READ_CACHE_TTL_SECONDS }), budgetMs);
  } catch {
    return unknown('unavailable');
  }
  if (text === LATE) return unknown('timeout');
  if (text === null) {
    revocationHealth.lastOk = Date.now();
    return undefined;
  }
  let at = NaN;
  try {
    const value = JSON.parse(text) as Partial<StoredRevocation> | null;
    if (value?.geogate === 'clearance-revocation' && value.schema === 1 && typeof value.revokedAt === 'string') at = Date.parse(value.revokedAt);
  } catch {
    // Not JSON: unreadable, like any other shape.
  }
  if (!Number.isFinite(at)) return unknown('invalid');
  revocationHealth.lastOk = Date.now();
  return at;
}

/**
 * Revokes every clearance of `account` issued up to `now` (a later one counts again). Rounded up
 * to the next second: clearances carry their issue time in whole seconds.
 */
export async function revokeClearances(kv: RevocationKv, account: string, now: number, by: string): Promise<{ revokedAt: string }> {
  const at = new Date(Math.ceil(now / 1000) * 1000).toISOString();
  const value: StoredRevocation = { geogate: 'clearance-revocation', schema: 1, revokedAt: at, revokedBy: by };
  await kv.put(revocationKey(await sha256Hex(account)), JSON.stringify(value), { expirationTtl: KEEP_SECONDS });
  return { revokedAt: at };
}
