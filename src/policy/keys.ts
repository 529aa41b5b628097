// Every KV key geogate reads or writes, in one place (documented in docs/storage-schema.md).

/** Binding-relative key of the active policy document: JSON text of a PolicyDocument. */
export const ACTIVE_POLICY_KEY = 'policy:active';
