// A JSON body that repeats a key is ambiguous: JSON.parse keeps the last value, so
// {"timezone":"Asia/Shanghai","timezone":"America/New_York"} would silently drop a client claim
// (promise 2: repeating a field must never lower suspicion). Such a body is refused instead.

/** A key repeated in one object: its dotted path (`client.timezone`). */
export interface DuplicateKey {
  readonly path: string;
}

interface Frame {
  readonly object: boolean;
  readonly keys: Set<string>;
  expectKey: boolean;
  key: string;
}

/**
 * The first key repeated within one object of `text`, or undefined. `text` must be valid JSON
 * (parse it first): the scan relies on its structure. Linear in the length of the text.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      const top = stack[stack.length - 1];
      if (top?.object && top.expectKey) {
        const raw = text.slice(i, j + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) return { path: [...stack.map((f) => f.key).slice(0, -1), key].filter((k) => k !== '').join('.') };
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ object: true, keys: new Set(), expectKey: true, key: '' });
    } else if (c === 0x5b /* [ */) {
      stack.push({ object: false, keys: new Set(), expectKey: false, key: '' });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.object) top.expectKey = true;
    }
  }
  return undefined;
}

/**
 * Whether `text` (valid JSON, `value` what JSON.parse made of it) repeats a key within one object.
 * Cheaper than {@link findDuplicateKey} on the common body, which has none: outside string
 * literals a colon only ever follows a key, so `text` has as many keys as colons there; the parsed
 * value holds one own property per distinct key. More keys written than kept is a repeat. (A plain
 * character loop: on a request-sized body it costs less than a regex replace, which also
 * allocates the string it returns.)
 */
export function repeatsKey(text: string, value: unknown): boolean {
  let written = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x3a /* : */) {
      written++;
    }
  }
  if (written === 0) return false;
  // Walked with a stack, not recursion: JSON.parse accepts nesting deep enough to overflow it.
  let kept = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (typeof item === 'object' && item !== null) stack.push(item);
      continue;
    }
    for (const key of Object.keys(v)) {
      kept++;
      const item = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return written > kept;
}

/**
 * Whether `text` (valid JSON) nests arrays and objects deeper than `max`. JSON.parse accepts
 * 100,000 levels; code that walks the value recursively (a validator) would overflow its stack.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
