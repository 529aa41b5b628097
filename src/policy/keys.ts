// Every KV key geogate reads or writes, in one place (documented in docs/storage-schema.md).

/** Key of the current policy document: JSON text of a PolicyDocument, written by operators. */
export const ACTIVE_POLICY_KEY = 'policy:active';

/**
 * Key of the last good copy: the newest policy:active text an isolate validated and compiled,
 * written by geogate itself (metadata: sha256, version, storedAt). Read only when policy:active
 * is unusable, so a new isolate never falls back to the built-in default in its place.
 */
export const LAST_GOOD_POLICY_KEY = 'policy:last-good';

/**
 * Key of the network intel in force: JSON pointer `{ geogate: "intel-pointer", schema, artifact,
 * version, storedAt, storedBy }` naming the artifact at `intel:<artifact>` (written by the admin
 * API, PUT /v1/intel; absent until the first push: the bundled intel answers).
 */
export const ACTIVE_INTEL_KEY = 'intel:active';

/** Key of the last intel pointer an isolate loaded and checked (written by geogate itself). */
export const LAST_GOOD_INTEL_KEY = 'intel:last-good';

/** KV key of the intel artifact with id (SHA-256 of its text) `id`. */
export const intelKey = (id: string): string => `intel:${id}`;

/**
 * KV key of an account's clearance revocation: JSON `{ geogate: "clearance-revocation", schema: 1,
 * revokedAt, revokedBy }`; clearances of the account issued at or before `revokedAt` no longer
 * count. `<account>` is the SHA-256 (hex) of the account id. Written by the admin API (DELETE
 * /v1/accounts/{id}/clearances), expiring once no clearance it revokes could still be valid.
 */
export const revocationKey = (accountSha256: string): string => `clearance-revocation:${accountSha256}`;
