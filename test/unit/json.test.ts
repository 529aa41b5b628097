// Duplicate keys in a JSON body: found wherever they are, never confused with values or escapes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey, repeatsKey } from '../../src/facts/json';

describe('findDuplicateKey', () => {
  it.each<[string, string | undefined]>([
    ['{}', undefined],
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', 'a'],
    ['{"client":{"timezone":"Asia/Shanghai","timezone":"America/New_York"}}', 'client.timezone'],
    ['{"client":{"timezone":"x"},"client":{}}', 'client'],
    ['{"a":"a","b":"a"}', undefined],
    ['{"a":["a","a"]}', undefined],
    ['[{"a":1},{"a":1}]', undefined],
    ['{"a":{"x":1},"b":{"x":1}}', undefined],
    ['{"k\\u0065y":1,"key":2}', 'key'],
    ['{"a\\"b":1,"c":"\\"a\\"b\\"","a\\"b":2}', 'a"b'],
    ['{"geo":{"country":"US"},"client":{"clock":"x","clock":"y"}}', 'client.clock'],
    ['"just a string"', undefined],
  ])('%s -> %s', (text, path) => {
    const value: unknown = JSON.parse(text);
    expect(findDuplicateKey(text)?.path).toBe(path);
    expect(repeatsKey(text, value)).toBe(path !== undefined);
  });

  it('agrees with a parse that counts keys, on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(findDuplicateKey(text)).toBeUndefined();
      }),
      { seed: 11, numRuns: 500 },
    );
  });
});

describe('repeatsKey (the cheap count in front of the scan)', () => {
  /** A JSON text of `value`, compact or pretty, with one object's key repeated when `repeat`. */
  const texts = fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), fc.nat()).map(([value, pretty, pick]) => {
    const text = JSON.stringify(value, null, pretty ? 2 : undefined);
    // Repeat the first member of the pick-th object that has one, if any.
    const members = [...text.matchAll(/[{,]\s*("(?:[^"\\]|\\.)*"\s*:\s*(?:"(?:[^"\\]|\\.)*"|-?[\d.eE+-]+|true|false|null))(?=\s*[,}])/g)];
    const m = members.length > 0 ? members[pick % members.length] : undefined;
    const repeated = m === undefined ? text : text.slice(0, (m.index ?? 0) + m[0].length) + ',' + (m[1] ?? '') + text.slice((m.index ?? 0) + m[0].length);
    return { text: repeated, value: JSON.parse(repeated) as unknown };
  });

  it('agrees with findDuplicateKey on any JSON, compact or pretty, with and without a repeated key', () => {
    let repeats = 0;
    fc.assert(
      fc.property(texts, ({ text, value }) => {
        const found = findDuplicateKey(text) !== undefined;
        if (found) repeats++;
        expect(repeatsKey(text, value)).toBe(found);
      }),
      { numRuns: 2000 },
    );
    expect(repeats).toBeGreaterThan(200);
  });

  it('holds on escapes, colons inside strings, prototype keys and deep nesting', () => {
    for (const text of ['{"a:b":"c:d","e":":"}', String.raw`{"\\":1,"\\\\":2}`, String.raw`{"a\"":1,"a\"":2}`, '{"__proto__":1,"__proto__":2}', '{"__proto__":{"a":1},"b":2}', '{"a" : 1 , "a" :2}', '[1,2,"x:y"]', `${'['.repeat(50_000)}{"a":1,"a":2}${']'.repeat(50_000)}`]) {
      const value: unknown = JSON.parse(text);
      expect(repeatsKey(text, value), text.slice(0, 60)).toBe(findDuplicateKey(text) !== undefined);
    }
  });
});
