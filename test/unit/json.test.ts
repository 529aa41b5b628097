// Duplicate keys in a JSON body: found wherever they are, never confused with values or escapes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey } from '../../src/facts/json';

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
    JSON.parse(text);
    expect(findDuplicateKey(text)?.path).toBe(path);
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
