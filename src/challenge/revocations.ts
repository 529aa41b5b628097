// Per-account revocation of clearances, in Workers KV (docs/storage-schema.md): one key per
// account that was ever revoked, read only when a request presents a clearance that names an
// account. KV is eventually consistent: a revocation reaches every location within about a
// minute (rotate CLEARANCE_SECRET to revoke every clearance at once).
// Unreadable, late or corrupt data reads as `unknown`, which the engine treats as "not cleared":
// a clearance opens a door, so doubt keeps it shut (promise 1).
import { revocationKey } from '../policy/keys';
import { sha256Hex } from '../policy/snapshot';
import { beforeDeadline, LATE } from '../store/deadline';

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

/**
 * When the account's clearances were last revoked (epoch ms), undefined when never, `unknown`
 * when storage failed, answered late or holds something unreadable.
 */
export async function revokedAt(kv: RevocationKv, account: string, budgetMs = REVOCATION_READ_BUDGET_MS): Promise<number | undefined | 'unknown'> {
  try {
    const key = revocationKey(await sha256Hex(account));
    const text = await beforeDeadline(kv.get(key, { type: 'text', cacheTtl: READ_CACHE_TTL_SECONDS }), budgetMs);
    if (text === LATE) return 'unknown';
    if (text === null) return undefined;
    const value = JSON.parse(text) as Partial<StoredRevocation>;
    const at = value.geogate === 'clearance-revocation' && value.schema === 1 && typeof value.revokedAt === 'string' ? Date.parse(value.revokedAt) : NaN;
    return Number.isFinite(at) ? at : 'unknown';
  } catch {
    return 'unknown';
  }
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
