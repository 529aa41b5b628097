// Every KV key geogate reads or writes, in one place (documented in docs/storage-schema.md).

/** Key of the current policy document: JSON text of a PolicyDocument, written by operators. */
export const ACTIVE_POLICY_KEY = 'policy:active';

/**
 * Key of the last good copy: the newest policy:active text an isolate validated and compiled,
 * written by geogate itself (metadata: sha256, version, storedAt). Read only when policy:active
 * is unusable, so a new isolate never falls back to the built-in default in its place.
 */
export const LAST_GOOD_POLICY_KEY = 'policy:last-good';
