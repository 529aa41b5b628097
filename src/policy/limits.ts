// Size bounds of a policy document. Validation and compilation cost grows with the document, and
// they run on an isolate's only thread: a 20 MB document once made a local worker unresponsive
// for minutes. Everything over these bounds is rejected before the schema sees it, cheaply.
// The bounds admit a policy carrying the shipped network intel inline (about 62,000 CIDRs,
// 1.3 MB of JSON) with room to spare. Documented in docs/policy.md ("Size limits").

/** Largest policy text accepted, in UTF-8 bytes. */
export const MAX_POLICY_BYTES = 4 * 1024 * 1024;

/** Most entries (array elements and object members, at any depth) a policy may hold in all. */
export const MAX_POLICY_ENTRIES = 150_000;

/** Which bound a document breaks. */
export interface SizeProblem {
  readonly bound: 'bytes' | 'entries';
  readonly limit: number;
  /** The size measured (for entries: counting stops just past the limit). */
  readonly actual: number;
  readonly message: string;
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Array elements and object members in a parsed JSON value, counted iteratively; stops once past
 * `limit`. Object members count too: 300,000 surfaces cost as much to validate as 300,000 CIDRs.
 */
export function countEntries(value: unknown, limit = MAX_POLICY_ENTRIES): number {
  let count = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && count <= limit) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    const items = Array.isArray(v) ? (v as unknown[]) : Object.values(v);
    count += items.length;
    for (const item of items) if (typeof item === 'object' && item !== null) stack.push(item);
  }
  return count;
}

/**
 * The bound a policy breaks, or undefined. Pass the text (checks bytes) or the parsed value
 * (checks entries).
 */
export function checkPolicySize(textOrValue: unknown): SizeProblem | undefined {
  if (typeof textOrValue === 'string') {
    const bytes = utf8Length(textOrValue);
    if (bytes <= MAX_POLICY_BYTES) return undefined;
    return { bound: 'bytes', limit: MAX_POLICY_BYTES, actual: bytes, message: `the policy is ${bytes} bytes; the limit is ${MAX_POLICY_BYTES}` };
  }
  const entries = countEntries(textOrValue);
  if (entries <= MAX_POLICY_ENTRIES) return undefined;
  return {
    bound: 'entries',
    limit: MAX_POLICY_ENTRIES,
    actual: entries,
    message: `the policy holds more than ${MAX_POLICY_ENTRIES} entries (list items and object members)`,
  };
}
