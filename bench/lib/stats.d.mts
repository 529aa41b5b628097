// Types of stats.mjs for the TypeScript that imports it (test/load): only what it uses.

/** Deterministic PRNG (mulberry32): the same seed gives the same sequence in [0, 1). */
export function prng(seed: number): () => number;

/** A positive number from the environment, or `fallback` when unset or empty; throws on anything else. */
export function envNumber(name: string, fallback: number): number;
