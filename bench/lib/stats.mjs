// Small statistics and formatting helpers shared by the benchmarks.

/** Sorted copy of numeric samples (Float64Array sorts numerically, unlike Array#sort). */
export function sorted(samples) {
  return Float64Array.from(samples).sort();
}

/** Nearest-rank quantile (q in [0, 1]) of already sorted samples. */
export function quantile(sortedSamples, q) {
  const n = sortedSamples.length;
  if (n === 0) return Number.NaN;
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sortedSamples[rank];
}

/** Median of a small list of numbers (per-run results). */
export function median(values) {
  const s = sorted(values);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Fixed-decimals number, right-aligned to `width`. */
export function fmt(value, decimals = 2, width = 0) {
  return value.toFixed(decimals).padStart(width);
}

/**
 * Deterministic PRNG (mulberry32), so that case order and route interleaving are the same from
 * one run to the next and differences between runs come from the machine, not the dice.
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Positive integer from the environment, or the default. */
export function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** Positive number (fractions allowed) from the environment, or the default. */
export function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Comma-separated positive integers from the environment (e.g. "1,4"), or the default list. */
export function envIntList(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const list = raw.split(',').map((x) => Number(x.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`${name} must be positive integers separated by commas, got ${JSON.stringify(raw)}`);
  }
  return list;
}
