// PrefixTable, the longest-prefix-match table behind CidrSet and the network intel: nested and
// touching blocks of 2-3 categories, flattened into disjoint intervals, must answer every lookup
// exactly as a linear scan over the blocks would (the innermost block of the category asked
// about), survive a round trip through their stored form, and judge coverage as a brute-force
// walk over every address does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, lookupWords, NO_PREFIX, PrefixTable, type CidrRange, type ParsedIp, type PrefixRanges } from '../../src/engine/ip';
import { ip, range } from '../ip-helpers';

const V4_MAX = 0xffffffff;
const V6_MAX = (1n << 128n) - 1n;
/** ::ffff:0:0/96, the IPv4-mapped block: an address in it IS the IPv4 address. */
const MAPPED = 0xffffn << 32n;

function table(lists: readonly (readonly string[])[]): PrefixTable {
  const r = PrefixTable.tryFrom(lists);
  if (!r.ok) throw new Error(`bad test lists: ${JSON.stringify(r.invalid)}`);
  return r.table;
}

const dotted = (v: number) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;

/** IPv6 text, all eight groups written out with leading zeros (independent of formatIp). */
const fullV6 = (v: bigint) =>
  v
    .toString(16)
    .padStart(32, '0')
    .replace(/(.{4})(?!$)/g, '$1:');

/** An address value as a ParsedIp the way parseIp would give it (IPv4-mapped IPv6 is IPv4). */
function addr(value: number | bigint, version: 4 | 6): ParsedIp {
  if (version === 4) return { version: 4, value: Number(value) };
  const v = BigInt(value);
  return v >> 32n === 0xffffn ? { version: 4, value: Number(v & 0xffffffffn) } : { version: 6, value: v };
}

/** A block of one category, as listed. */
interface Listed {
  readonly text: string;
  readonly category: number;
}

/** The innermost block of `category` holding `q`, by linear scan over every listed block. */
function innermost(blocks: readonly Listed[], q: ParsedIp, category: number): CidrRange | undefined {
  let best: CidrRange | undefined;
  for (const b of blocks) {
    if (b.category !== category) continue;
    const r = range(b.text);
    if (r.version !== q.version || q.value < r.start || q.value > r.end) continue;
    if (!best || BigInt(r.end) - BigInt(r.start) < BigInt(best.end) - BigInt(best.start)) best = r;
  }
  return best;
}

/** First, last, one before and one after a block (those inside its family). */
function around(r: CidrRange): ParsedIp[] {
  const max = r.version === 4 ? BigInt(V4_MAX) : V6_MAX;
  return [BigInt(r.start), BigInt(r.end), BigInt(r.start) - 1n, BigInt(r.end) + 1n].filter((v) => v >= 0n && v <= max).map((v) => addr(v, r.version));
}

// Blocks crowd into a few small regions so that they nest, touch and repeat, as real lists do.
const V4_BASE = 0x0a000000; // 10.0.0.0
const V6_BASE = 0x20010db8n << 96n; // 2001:db8::

const v4Clustered = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 16, max: 32 })).map(([off, bits]) => `${dotted(V4_BASE + off)}/${bits}`);
const v4Anywhere = fc.tuple(fc.integer({ min: 0, max: V4_MAX }), fc.integer({ min: 0, max: 32 })).map(([v, bits]) => `${dotted(v)}/${bits}`);
/** 2001:db8:G::LLLL, G in 0-3: short prefixes nest by G, long ones by the last group. */
const v6Clustered = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff }), fc.oneof(fc.integer({ min: 30, max: 50 }), fc.integer({ min: 110, max: 128 })))
  .map(([g, low, bits]) => `${fullV6(V6_BASE | (BigInt(g) << 80n) | BigInt(low))}/${bits}`);
/** Around a 32-bit word boundary (2001:db8::K:0:0), where the four-word bounds carry. */
const v6WordEdge = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -300, max: 300 }), fc.integer({ min: 88, max: 128 }))
  .map(([k, d, bits]) => `${fullV6(V6_BASE + (BigInt(k) << 32n) + BigInt(d))}/${bits}`);
/** The ends of both families, the IPv4-mapped block and its neighbours. */
const extremes = fc.constantFrom(
  '0.0.0.0/0',
  '0.0.0.0/32',
  '255.255.255.255/32',
  '128.0.0.0/1',
  '::/0',
  '::/1',
  '8000::/1',
  'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
  '::fffe:0:0/96',
  '::fffe:0:0/95',
  '::1:0:0:0/96',
  '::ffff:10.0.0.0/112',
  '::ffff:0:0/96',
);

const blockArb = fc.oneof(
  { arbitrary: v4Clustered, weight: 4 },
  { arbitrary: v6Clustered, weight: 3 },
  { arbitrary: v6WordEdge, weight: 2 },
  { arbitrary: v4Anywhere, weight: 1 },
  { arbitrary: extremes, weight: 1 },
);

const queryArb = fc.oneof(
  fc.ipV4().map(ip),
  fc.ipV6().map(ip),
  fc.integer({ min: 0, max: 0xffff }).map((off) => addr(V4_BASE + off, 4)),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff })).map(([g, low]) => addr(V6_BASE | (BigInt(g) << 80n) | BigInt(low), 6)),
);

/** 2 or 3 categories; blocks, then some of them listed again in a (possibly different) category. */
const listsArb = fc.integer({ min: 2, max: 3 }).chain((categories) =>
  fc.record({
    categories: fc.constant(categories),
    blocks: fc.array(fc.tuple(blockArb, fc.integer({ min: 0, max: categories - 1 })), { maxLength: 40 }),
    again: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: categories - 1 })), { maxLength: 8 }),
    queries: fc.array(queryArb, { maxLength: 12 }),
  }),
);

function listedOf(blocks: readonly [string, number][], again: readonly [number, number][]): Listed[] {
  const listed = blocks.map(([text, category]) => ({ text, category }));
  if (listed.length > 0) for (const [i, category] of again) listed.push({ text: listed[i % listed.length]?.text ?? '', category });
  return listed;
}

function listsOf(listed: readonly Listed[], categories: number): string[][] {
  const lists: string[][] = Array.from({ length: categories }, () => []);
  for (const b of listed) lists[b.category]?.push(b.text);
  return lists;
}

/** Copies every typed array, as reading a stored table back does (nothing shared with the original). */
function copied(r: PrefixRanges): PrefixRanges {
  return { starts: r.starts.slice(), ends: r.ends.slice(), bits: r.bits.map((b) => b.slice()) };
}

/** Prefix length of a block text. */
const bitsOf = (r: CidrRange) => Number(r.text.slice(r.text.indexOf('/') + 1));

/** The block one bit shorter than `r` (its parent), as text; all of the family for a /0. */
const parentOf = (r: CidrRange) => `${r.text.slice(0, r.text.indexOf('/'))}/${Math.max(bitsOf(r) - 1, 0)}`;

describe('PrefixTable agrees with a linear scan', () => {
  it('for every category, at block edges, mapped forms and random addresses (2-3 categories, nested, touching, repeated blocks)', () => {
    fc.assert(
      fc.property(listsArb, ({ categories, blocks, again, queries }) => {
        const listed = listedOf(blocks, again);
        const t = table(listsOf(listed, categories));
        expect(t.size).toBe(listed.length);
        expect(t.categories).toBe(categories);
        const back = PrefixTable.fromData({ size: t.toData().size, v4: copied(t.toData().v4), v6: copied(t.toData().v6) });
        expect(back, 'fromData(toData()) is refused').toBeDefined();
        const qs = [...listed.flatMap((b) => around(range(b.text))), ...queries];
        for (const q of qs) {
          const words = lookupWords(q);
          const at = q.version === 4 ? t.findV4(q.value) : t.findV6(words.w0, words.w1, words.w2, words.w3);
          for (let c = 0; c < categories; c++) {
            const want = innermost(listed, q, c);
            const where = `${formatIp(q)} in category ${c} of ${JSON.stringify(listed)}`;
            const got = t.match(q, 'exact', c);
            expect(got?.cidr, where).toBe(want?.text);
            if (got) expect(got).toEqual({ cidr: want?.text, via: 'address', matchedIp: formatIp(q) });
            // The raw lookups say the same: the interval's label is the innermost block's length.
            const label = at < 0 ? NO_PREFIX : q.version === 4 ? t.bitsV4(at, c) : t.bitsV6(at, c);
            expect(label, where).toBe(want ? bitsOf(want) : NO_PREFIX);
            expect(back?.match(q, 'exact', c), `${where}, after fromData(toData())`).toEqual(got);
            if (q.version === 4) {
              // An IPv4 embeds nothing, and its IPv4-mapped IPv6 form is the same address.
              expect(t.match(q, 'with-embedded', c), where).toEqual(got);
              expect(t.match({ version: 6, value: MAPPED | BigInt(q.value) }, 'exact', c), `::ffff:${formatIp(q)}`).toEqual(got);
            }
          }
          // A category index past the table's answers nothing.
          expect(t.match(q, 'exact', categories)).toBeUndefined();
        }
      }),
      { seed: 20261126, numRuns: 400 },
    );
  });
});

describe('PrefixTable.covers agrees with a brute-force walk over every address', () => {
  /** Every address of `r` (small ranges only) lies in some block of `category`. */
  function bruteCovers(listed: readonly Listed[], r: CidrRange, category: number): boolean {
    const ranges = listed.filter((b) => b.category === category).map((b) => range(b.text));
    for (let v = BigInt(r.start); v <= BigInt(r.end); v++) {
      if (!ranges.some((b) => b.version === r.version && v >= BigInt(b.start) && v <= BigInt(b.end))) return false;
    }
    return true;
  }

  // IPv4: blocks and ranges inside 10.0.0.0/21 (ranges up to a /21, 2048 addresses).
  const v4Small = (minBits: number) => fc.tuple(fc.integer({ min: 0, max: 2047 }), fc.integer({ min: minBits, max: 32 })).map(([off, bits]) => `${dotted(V4_BASE + off)}/${bits}`);
  // IPv6: 1024 addresses straddling 2001:db8::1:0:0 (a carry into the third word), blocks up to a /119.
  const V6_SMALL = V6_BASE + (1n << 32n) - 512n;
  const v6Small = (minBits: number) => fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: minBits, max: 128 })).map(([off, bits]) => `${fullV6(V6_SMALL + BigInt(off))}/${bits}`);

  it.each([
    ['IPv4', v4Small(22), v4Small(21)],
    ['IPv6 across a word boundary', v6Small(119), v6Small(118)],
  ])('%s', (_name, blockSmall, rangeSmall) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }).chain((categories) =>
          fc.record({
            categories: fc.constant(categories),
            blocks: fc.array(fc.tuple(blockSmall, fc.integer({ min: 0, max: categories - 1 })), { maxLength: 24 }),
            ranges: fc.array(rangeSmall, { minLength: 1, maxLength: 6 }),
          }),
        ),
        ({ categories, blocks, ranges }) => {
          const listed = listedOf(blocks, []);
          const t = table(listsOf(listed, categories));
          // Ranges made of the listed blocks themselves, and their parents, are the interesting ones.
          const candidates = [...ranges, ...listed.map((b) => b.text), ...listed.map((b) => parentOf(range(b.text)))];
          for (const text of candidates) {
            const r = range(text);
            for (let c = 0; c < categories; c++) {
              expect(t.covers(r, c), `${text} in category ${c} of ${JSON.stringify(listed)}`).toBe(bruteCovers(listed, r, c));
            }
          }
        },
      ),
      { seed: 20261126, numRuns: 250 },
    );
  });

  it.each<[string, string[][], string, number, boolean]>([
    // [name, lists by category, range, category, covered]
    ['two halves cover all of IPv4', [['0.0.0.0/1', '128.0.0.0/1'], []], '0.0.0.0/0', 0, true],
    ['two halves cover all of IPv6', [['::/1', '8000::/1'], []], '::/0', 0, true],
    ['touching /96 blocks cover the /95 across a word carry', [['2001:db8::/96', '2001:db8::1:0:0/96'], []], '2001:db8::/95', 0, true],
    ['half of a /95 does not cover it', [['2001:db8::/96'], []], '2001:db8::/95', 0, false],
    ['blocks ending at the last IPv6 address', [['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'], []], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127', 0, true],
    ['blocks ending at the last IPv4 address', [['255.255.255.254/32', '255.255.255.255/32'], []], '255.255.255.254/31', 0, true],
    ['::/0 does not cover IPv4', [['::/0'], []], '10.0.0.0/8', 0, false],
    ['::ffff:0:0/96 is all of IPv4', [['::ffff:0:0/96'], []], '10.0.0.0/8', 0, true],
    ['another category\'s block does not count', [[], ['10.0.0.0/24']], '10.0.0.0/24', 0, false],
    ['...but covers in its own category', [[], ['10.0.0.0/24']], '10.0.0.0/24', 1, true],
    ['touching blocks of different categories cover neither', [['10.0.0.0/25'], ['10.0.0.128/25']], '10.0.0.0/24', 0, false],
    ['a gap filled only by another category', [['10.0.0.0/26', '10.0.0.128/25'], ['10.0.0.64/26']], '10.0.0.0/24', 0, false],
    ['an outer block around another category\'s inner one', [['10.0.0.0/24'], ['10.0.0.64/26']], '10.0.0.0/24', 0, true],
    ['the inner block, in its category', [['10.0.0.0/24'], ['10.0.0.64/26']], '10.0.0.64/26', 1, true],
    ['the outer block, in the inner block\'s category', [['10.0.0.0/24'], ['10.0.0.64/26']], '10.0.0.0/24', 1, false],
    ['a range inside one block', [['10.0.0.0/8'], []], '10.20.30.0/24', 0, true],
    ['a range larger than every block', [['10.0.0.0/9', '10.128.0.0/10'], []], '10.0.0.0/8', 0, false],
  ])('%s', (_name, lists, r, category, want) => {
    expect(table(lists).covers(range(r), category)).toBe(want);
  });
});

describe('PrefixTable categories', () => {
  const at = (t: PrefixTable, s: string, c: number) => t.match(ip(s), 'exact', c)?.cidr;

  it('the same block in two categories labels both', () => {
    const t = table([['192.0.2.0/24', '2001:db8::/32'], ['2001:db8::/32', '192.0.2.0/24'], []]);
    expect(t.intervals).toBe(2);
    for (const s of ['192.0.2.0', '192.0.2.77', '192.0.2.255']) {
      expect([at(t, s, 0), at(t, s, 1), at(t, s, 2)]).toEqual(['192.0.2.0/24', '192.0.2.0/24', undefined]);
    }
    expect([at(t, '2001:db8:ffff::1', 0), at(t, '2001:db8:ffff::1', 1), at(t, '2001:db8:ffff::1', 2)]).toEqual(['2001:db8::/32', '2001:db8::/32', undefined]);
    expect([at(t, '192.0.3.0', 0), at(t, '192.0.1.255', 1)]).toEqual([undefined, undefined]);
  });

  it('duplicate blocks within and across categories: counted in size, flattened once, innermost per category', () => {
    const t = table([
      ['192.0.2.0/24', '192.0.2.0/24', '192.0.2.0/25'],
      ['192.0.2.0/24', '192.0.2.128/25', '192.0.2.128/25'],
    ]);
    expect(t.size).toBe(6);
    expect(t.intervals).toBe(2);
    expect([at(t, '192.0.2.5', 0), at(t, '192.0.2.5', 1)]).toEqual(['192.0.2.0/25', '192.0.2.0/24']);
    expect([at(t, '192.0.2.200', 0), at(t, '192.0.2.200', 1)]).toEqual(['192.0.2.0/24', '192.0.2.128/25']);
  });

  it('a block written in different forms is one block (host bits, IPv4-mapped, case)', () => {
    const t = table([['192.0.2.77/24'], ['::ffff:192.0.2.0/120', '2001:DB8::/32'], ['2001:db8:0:0::1/32']]);
    expect(t.intervals).toBe(2);
    expect([at(t, '192.0.2.1', 0), at(t, '192.0.2.1', 1), at(t, '192.0.2.1', 2)]).toEqual(['192.0.2.0/24', '192.0.2.0/24', undefined]);
    expect([at(t, '2001:db8::9', 0), at(t, '2001:db8::9', 1), at(t, '2001:db8::9', 2)]).toEqual([undefined, '2001:db8::/32', '2001:db8::/32']);
  });

  it('holds 8 categories, each its own, and no more or fewer than 1-8', () => {
    const eight = Array.from({ length: 8 }, (_, c) => [`10.${c}.0.0/16`, '10.0.0.0/8']);
    const t = table(eight);
    expect(t.categories).toBe(8);
    for (let c = 0; c < 8; c++) {
      expect(at(t, `10.${c}.1.1`, c)).toBe(`10.${c}.0.0/16`);
      expect(at(t, `10.${(c + 1) % 8}.1.1`, c)).toBe('10.0.0.0/8');
    }
    expect(() => PrefixTable.tryFrom([])).toThrow(/1 to 8 categories/);
    expect(() => PrefixTable.tryFrom(Array.from({ length: 9 }, () => []))).toThrow(/1 to 8 categories/);
  });

  it('tryFrom names every malformed text by its list and index', () => {
    expect(PrefixTable.tryFrom([['10.0.0.0/8', 'x'], ['nope', '2001:db8::/32', '10.0.0.0/33'], ['2001:db8::/129']])).toEqual({
      ok: false,
      invalid: [
        { list: 0, index: 1 },
        { list: 1, index: 0 },
        { list: 1, index: 2 },
        { list: 2, index: 0 },
      ],
    });
  });

  it('an empty table matches nothing and covers nothing, and round-trips', () => {
    const t = table([[], []]);
    expect(t.intervals).toBe(0);
    expect(t.match(ip('0.0.0.0'), 'with-embedded', 0)).toBeUndefined();
    expect(t.match(ip('::'), 'with-embedded', 1)).toBeUndefined();
    expect(t.covers(range('10.0.0.0/32'), 0)).toBe(false);
    expect(t.findV4(0)).toBe(-1);
    expect(t.findV6(0, 0, 0, 0)).toBe(-1);
    expect(PrefixTable.fromData(t.toData())?.intervals).toBe(0);
  });

  it('with-embedded matches a category\'s IPv4 block through a 6to4 address; exact does not', () => {
    const t = table([['192.0.2.0/24'], ['2002::/16']]);
    const sixToFour = ip('2002:c000:209::1');
    expect(t.match(sixToFour, 'exact', 0)).toBeUndefined();
    expect(t.match(sixToFour, 'with-embedded', 0)).toEqual({ cidr: '192.0.2.0/24', via: '6to4', matchedIp: '192.0.2.9' });
    // The address itself answers first, in its own category.
    expect(t.match(sixToFour, 'with-embedded', 1)).toEqual({ cidr: '2002::/16', via: 'address', matchedIp: '2002:c000:209::1' });
  });
});
