// LOCALE_RESTRICTED and the Accept-Language reader behind it: what real browsers send, every way
// a red team hid a restricted locale, what must still be ignored, and a property that no entry a
// client adds can clear the signal.
import cldrAliases from 'cldr-core/supplemental/aliases.json';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectLocale, parseAcceptLanguage, regionOfTag, type TagPlace } from '../../src/engine/detectors/locale';
import type { SignalValue } from '../../src/engine/types';

const COUNTRIES: ReadonlySet<string> = new Set(['CN', 'HK', 'MO', 'RU', 'IR', 'KP', 'SY', 'CU']);
const REGIONS: ReadonlySet<string> = new Set(['UA-43', 'UA-14', 'UA-09']);

const detect = (header: string | readonly string[] | undefined) => detectLocale(header, COUNTRIES, REGIONS);
/** `n` harmless entries, as a header fragment ending in a comma. */
const filler = (n: number) => Array.from({ length: n }, (_, i) => `en-US;q=0.${(i % 9) + 1},`).join('');

describe('parseAcceptLanguage: real browser headers', () => {
  it.each<[string, string, [tag: string, q: number, region?: string][]]>([
    ['Chrome, en-US', 'en-US,en;q=0.9', [['en-US', 1, 'US'], ['en', 0.9]]],
    ['Chrome, zh-CN', 'zh-CN,zh;q=0.9,en;q=0.8', [['zh-CN', 1, 'CN'], ['zh', 0.9], ['en', 0.8]]],
    ['Chrome, several', 'en-GB,en-US;q=0.9,en;q=0.8,ru;q=0.7', [['en-GB', 1, 'GB'], ['en-US', 0.9, 'US'], ['en', 0.8], ['ru', 0.7]]],
    ['Firefox, en-US', 'en-US,en;q=0.5', [['en-US', 1, 'US'], ['en', 0.5]]],
    [
      'Firefox, zh-CN',
      'zh-CN,zh;q=0.8,zh-TW;q=0.7,zh-HK;q=0.5,en-US;q=0.3,en;q=0.2',
      [['zh-CN', 1, 'CN'], ['zh', 0.8], ['zh-TW', 0.7, 'TW'], ['zh-HK', 0.5, 'HK'], ['en-US', 0.3, 'US'], ['en', 0.2]],
    ],
    ['Firefox, fa-IR', 'fa-IR,fa;q=0.8,en-US;q=0.5,en;q=0.3', [['fa-IR', 1, 'IR'], ['fa', 0.8], ['en-US', 0.5, 'US'], ['en', 0.3]]],
    ['Safari, en-GB', 'en-GB,en;q=0.9', [['en-GB', 1, 'GB'], ['en', 0.9]]],
    ['Safari, zh-Hans', 'zh-CN,zh-Hans;q=0.9', [['zh-CN', 1, 'CN'], ['zh-Hans', 0.9]]],
    ['Safari, ru', 'ru,en;q=0.9', [['ru', 1], ['en', 0.9]]],
    ['spaces after commas (curl, proxies)', 'de-DE, de;q=0.9, en;q=0.8', [['de-DE', 1, 'DE'], ['de', 0.9], ['en', 0.8]]],
  ])('%s', (_name, header, want) => {
    expect(parseAcceptLanguage(header).map((p) => (p.region === undefined ? [p.tag, p.q] : [p.tag, p.q, p.region]))).toEqual(want);
  });
});

describe('parseAcceptLanguage: quality, read conservatively', () => {
  // undefined: the entry is dropped (a clean refusal); a number: it counts, at that quality.
  it.each<[string, number | undefined]>([
    ['zh-CN', 1],
    ['zh-CN;q=0.5', 0.5],
    ['zh-CN;q=1', 1],
    ['zh-CN;q=1.000', 1],
    ['zh-CN;q=0.001', 0.001],
    ['zh-CN;q=0.', undefined],
    ['zh-CN;q=0', undefined],
    ['zh-CN;q=0.0', undefined],
    ['zh-CN;q=0.000', undefined],
    ['zh-CN;Q=0', undefined],
    ['zh-CN;Q=0.000', undefined],
    ['zh-CN; q=0', undefined],
    ['zh-CN ;q=0 ', undefined],
    ['zh-CN;q=0;q=1', 1],
    ['zh-CN;q=1;q=0', 1],
    ['zh-CN;q=0.2;q=0.7', 0.7],
    ['zh-CN;q=0;q=0', 0],
    ['zh-CN;q=0;level=1', 0],
    ['zh-CN;q=0;', 0],
    ['zh-CN;level=1', 1],
    ['zh-CN;q=', 1],
    ['zh-CN;q=abc', 1],
    ['zh-CN;q=2', 1],
    ['zh-CN;q=1.5', 1],
    ['zh-CN;q=1.001', 1],
    ['zh-CN;q=0.0000', 1],
    ['zh-CN;q=-0', 1],
    ['zh-CN;q=.5', 1],
    ['zh-CN;q= 0', 1],
    ['zh-CN;q =0', 1],
    ['zh-CN;q=0x0', 1],
    ['zh-CN;q=abc;q=0.3', 0.3],
    ['zh-CN;q=0.25', 0.25],
    ['zh-CN;q=0.123', 0.123],
    // The largest well-formed q counts; a malformed one beside it adds nothing.
    ['zh-CN;q=0.3;q=0.12345', 0.3],
    ['zh-CN;q=0.3;q=0x', 0.3],
    ['zh-CN;q=0.3;q=0.a', 0.3],
    ['zh-CN;q=0.3;q=1.5', 0.3],
    ['zh-CN;q=0.3;q=2', 0.3],
    ['zh-CN;q=0.3;q=1.0', 1],
    // Only a parameter named q (any case) followed by = is a quality.
    ['zh-CN;x=0', 1],
    ['zh-CN;qx0', 1],
    ['zh-CN;Q=0.5', 0.5],
    ['zh-CN;;', 1],
  ])('%j -> q %s', (header, want) => {
    const prefs = parseAcceptLanguage(header);
    if (want === undefined) expect(prefs).toEqual([]);
    else expect(prefs).toMatchObject([{ tag: 'zh-CN', q: want, region: 'CN' }]);
  });

  it('skips `*` and entries without a language subtag, never throwing', () => {
    expect(parseAcceptLanguage('*, !!, x-cn, i-klingon, 1-CN, zh1-CN, abcdefghi-CN, , ;q=1, =,;').map((p) => p.tag)).toEqual([]);
  });

  it('keeps tags as sent, trimmed', () => {
    expect(parseAcceptLanguage('\t zh_cn \t;q=0.5 ,\u00a0ZH-hk').map((p) => p.tag)).toEqual(['zh_cn', 'ZH-hk']);
    // A zero-width space is not a space: it stays part of the tag as sent.
    expect(parseAcceptLanguage('zh-CN\u200b')).toMatchObject([{ tag: 'zh-CN\u200b', region: 'CN' }]);
  });
});

describe('regionOfTag', () => {
  it.each<[string, TagPlace | undefined]>([
    ['zh-CN', { region: 'CN', source: 'region' }],
    ['en-gb', { region: 'GB', source: 'region' }],
    ['ZH_cn', { region: 'CN', source: 'region' }],
    [' zh-CN ', { region: 'CN', source: 'region' }],
    ['sr-Latn-RS', { region: 'RS', source: 'region' }],
    ['zh-Hans-CN', { region: 'CN', source: 'region' }],
    // Extlangs (3 letters) sit between the language and the script.
    ['zh-cmn-Hans-CN', { region: 'CN', source: 'region' }],
    ['zh-yue-HK', { region: 'HK', source: 'region' }],
    ['zh-cmn-yue-wuu-CN', { region: 'CN', source: 'region' }],
    ['de-CH-1996', { region: 'CH', source: 'region' }],
    ['sl-IT-nedis', { region: 'IT', source: 'region' }],
    ['de-DE-u-co-phonebk', { region: 'DE', source: 'region' }],
    ['en-US-x-cn', { region: 'US', source: 'region' }],
    // Unicode extension keywords: rg overrides the region, sd names a subdivision.
    ['en-US-u-rg-cnzzzz', { region: 'CN', source: 'u-rg' }],
    ['en-u-rg-cnzzzz', { region: 'CN', source: 'u-rg' }],
    ['en-US-u-ca-gregory-rg-CNZZZZ', { region: 'CN', source: 'u-rg' }],
    ['en_US_u_rg_cnzzzz', { region: 'CN', source: 'u-rg' }],
    ['en-US-u-rg-ua43', { region: 'UA', subdivision: 'UA-43', source: 'u-rg' }],
    ['uk-UA-u-sd-ua43', { region: 'UA', subdivision: 'UA-43', source: 'u-sd' }],
    ['en-GB-u-sd-gbsct', { region: 'GB', subdivision: 'GB-SCT', source: 'u-sd' }],
    ['en-u-sd-uszzzz', { region: 'US', source: 'u-sd' }],
    ['en-US-u-rg-156zzzz', { region: 'CN', source: 'u-rg' }],
    // Deprecated and numeric codes read as CLDR's successors, as Intl.getCanonicalLocales does.
    ['zh-156', { region: 'CN', source: 'region' }],
    ['ru-643', { region: 'RU', source: 'region' }],
    ['ru-SU', { region: 'RU', source: 'region' }],
    ['en-UK', { region: 'GB', source: 'region' }],
    // Malformed tags may point at more places, never fewer.
    ['zh-aaa-bbb-ccc-ddd-CN', { region: 'CN', source: 'region' }],
    ['zh-Hans-Hant-CN', { region: 'CN', source: 'region' }],
    ['zh--CN', { region: 'CN', source: 'region' }],
    ['zh-abcdefghijk-CN', { region: 'CN', source: 'region' }],
    ['zh-CN!', { region: 'CN', source: 'region' }],
    ['zh-CN-abcdefghijk', { region: 'CN', source: 'region' }],
    ['es-419-CN', { region: 'CN', source: 'region' }],
    // Primary language subtags run to 8 letters.
    ['abcdefgh-CN', { region: 'CN', source: 'region' }],
    // A subdivision of a replaced code cannot be placed: the successors stand alone.
    ['ru-u-sd-su01', { region: 'RU', source: 'u-sd' }],
    ['en-u-rg-156ab', { region: 'CN', source: 'u-rg' }],
    // No place.
    ['zh', undefined],
    ['zh-Hans', undefined],
    ['zh-Hant', undefined],
    ['es-419', undefined],
    ['en-001', undefined],
    ['x-cn', undefined],
    ['en-x-cn', undefined],
    ['en-x-u-rg-cnzzzz', undefined],
    ['en-t-zh-cn', undefined],
    ['en-a-cn', undefined],
    ['en-u-cn', undefined],
    ['en-u-rg-cn', undefined],
    ['en-u-rg-zz', undefined],
    ['en-u-sd-ua12345', undefined],
    ['en-u-co-cnzzzz', undefined],
    ['en-u-ra-cnzzzz', undefined],
    ['en-u-xg-cnzzzz', undefined],
    ['en-u-sx-ua43', undefined],
    ['en-u-xd-ua43', undefined],
    ['en-a-rg-cnzzzz', undefined],
    ['en-000', undefined],
    ['i-klingon', undefined],
    ['*', undefined],
    ['', undefined],
    ['zh!CN', undefined],
    ['zh CN', undefined],
    ['c-CN', undefined],
    ['zh1-CN', undefined],
  ])('%j -> %j', (tag, want) => {
    expect(regionOfTag(tag)).toEqual(want);
  });

  it('lists every place, most specific first, once each', () => {
    expect(parseAcceptLanguage('ru-RU-u-rg-uszzzz-sd-ua43')[0]?.places).toEqual([
      { region: 'UA', subdivision: 'UA-43', source: 'u-sd' },
      { region: 'US', source: 'u-rg' },
      { region: 'RU', source: 'region' },
    ]);
    expect(parseAcceptLanguage('en-US-GB-US-GB')[0]?.places).toEqual([
      { region: 'US', source: 'region' },
      { region: 'GB', source: 'region' },
    ]);
    // A repeat never stops the reading: what follows it still counts.
    expect(parseAcceptLanguage('en-US-US-GB')[0]?.places.map((p) => p.region)).toEqual(['US', 'GB']);
    expect(parseAcceptLanguage('en-US-GB-GB-FR')[0]?.places.map((p) => p.region)).toEqual(['US', 'GB', 'FR']);
  });

  it('reports the most specific place of each entry, with its subdivision', () => {
    expect(parseAcceptLanguage('uk-UA-u-sd-ua43;q=0.5, zh-CN')).toEqual([
      { tag: 'uk-UA-u-sd-ua43', q: 0.5, region: 'UA', subdivision: 'UA-43', regionSource: 'u-sd', places: [{ region: 'UA', subdivision: 'UA-43', source: 'u-sd' }, { region: 'UA', source: 'region' }] },
      { tag: 'zh-CN', q: 1, region: 'CN', regionSource: 'region', places: [{ region: 'CN', source: 'region' }] },
    ]);
  });

  it('agrees with CLDR on every deprecated and numeric region code', () => {
    const aliases: Record<string, { _replacement: string }> = cldrAliases.supplemental.metadata.alias.territoryAlias;
    let checked = 0;
    for (const [code, { _replacement }] of Object.entries(aliases)) {
      if (!/^(?:[A-Z]{2}|\d{3})$/.test(code)) continue; // 3-letter codes cannot be BCP 47 regions
      const successors = _replacement.split(' ').filter((r) => /^[A-Z]{2}$/.test(r));
      expect(parseAcceptLanguage(`und-${code}`)[0]?.places.map((p) => p.region), code).toEqual(successors);
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
    // Numeric codes CLDR does not replace are areas: Latin America, the world, Europe.
    for (const area of ['419', '001', '150', '062']) expect(regionOfTag(`es-${area}`), area).toBeUndefined();
  });
});

describe('detectLocale', () => {
  it.each<[string, string, SignalValue]>([
    ['plain', 'zh-CN', true],
    ['Chrome, zh-CN', 'zh-CN,zh;q=0.9,en;q=0.8', true],
    ['Firefox, zh-CN second', 'en-US,zh-CN;q=0.7,en;q=0.3', true],
    ['Safari, fa-IR', 'fa-IR,fa;q=0.9', true],
    ['ru-RU', 'ru-RU,ru;q=0.9,en-US;q=0.8', true],
    ['en-HK', 'en-HK', true],
    ['Chrome, en-US', 'en-US,en;q=0.9', false],
    ['uk-UA (UA is not restricted)', 'uk-UA,uk;q=0.9', false],
    // Red-team evasions.
    ['33 junk tags before zh-CN', `${filler(33)}zh-CN`, true],
    ['1,000 junk tags before zh-CN', `${filler(1000)}zh-CN`, true],
    ['1,000 empty entries before zh-CN', `${','.repeat(1000)}zh-CN`, true],
    ['extlang zh-cmn-Hans-CN', 'en-US, zh-cmn-Hans-CN;q=0.5', true],
    ['extlang zh-yue-HK', 'zh-yue-HK', true],
    ['second q wins nothing: q=0;q=1', 'en, zh-CN;q=0;q=1', true],
    ['empty q', 'zh-CN;q=', true],
    ['malformed q', 'zh-CN;q=abc', true],
    ['underscore and case', 'ZH_cn', true],
    ['whitespace around the tag', ' zh-CN ;q=0.5', true],
    ['region override', 'en-US-u-rg-cnzzzz', true],
    ['numeric region', 'zh-156', true],
    ['deprecated region', 'ru-SU', true],
    ['junk after the region', 'zh-CN-abcdefghijk', true],
    ['subdivision of a restricted region', 'uk-UA-u-sd-ua43', true],
    ['subdivision as region override', 'en-US-u-rg-ua14zzzz,en-US-u-rg-ua14', true],
    // Still ignored.
    ['q=0', 'en-US,zh-CN;q=0', false],
    ['Q=0.000', 'zh-CN;Q=0.000', false],
    ['private use', 'x-cn', false],
    ['private use after a tag', 'en-x-cn', false],
    ['Latin America', 'es-419', false],
    ['script only', 'zh-Hans', false],
    ['traditional script', 'zh-Hant', false],
    ['language only', 'zh, fa, ru', false],
    ['Taiwan', 'zh-TW', false],
    ['Singapore', 'zh-SG', false],
    ['wildcard', '*', false],
    ['unlisted subdivision', 'uk-UA-u-sd-ua30', false],
    ['empty', '', false],
    ['garbage', ';;;,,,=', false],
  ])('%s: %j', (_name, header, want) => {
    expect(detect(header).value).toBe(want);
  });

  it('is undetermined without a header', () => {
    expect(detect(undefined)).toEqual({ value: 'undetermined', why: 'no Accept-Language' });
    expect(detect([])).toEqual({ value: 'undetermined', why: 'no Accept-Language' });
  });

  it('reads every value of a repeated header', () => {
    expect(detect(['en-US,en;q=0.9', 'de, zh-CN;q=0.2'])).toMatchObject({ value: true, evidence: { tag: 'zh-CN', country: 'CN', q: 0.2 } });
    expect(detect(['zh-CN;q=0', 'en'])).toBe(detect('en'));
    expect(detect(['en', 'de']).value).toBe(false);
  });

  it('reports the first restricted tag in header order, with its quality and source', () => {
    const signal = detect('en-GB, zh-CN;q=0;q=0.4, fa-IR;q=0.9');
    expect(signal).toEqual({
      value: true,
      message: 'The browser asks for "zh-CN" (q=0.4), a locale of restricted country CN.',
      evidence: { tag: 'zh-CN', country: 'CN', q: 0.4, source: 'region' },
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['en-US-u-rg-cnzzzz', { tag: 'en-US-u-rg-cnzzzz', country: 'CN', q: 1, source: 'u-rg' }],
    ['uk-UA-u-sd-ua43;q=0.3', { tag: 'uk-UA-u-sd-ua43', country: 'UA', subdivision: 'UA-43', q: 0.3, source: 'u-sd' }],
    ['ZH_cn', { tag: 'ZH_cn', country: 'CN', q: 1, source: 'region' }],
  ])('evidence for %j', (header, evidence) => {
    expect(detect(header)).toMatchObject({ value: true, evidence });
  });

  it('names the subdivision and its country in the message', () => {
    const signal = detect('uk-UA-u-sd-ua43');
    expect(signal.value === true && signal.message).toBe('The browser asks for "uk-UA-u-sd-ua43" (q=1), a locale of restricted region UA-43 (UA).');
  });

  it('counts a restricted subdivision only when the policy lists it', () => {
    expect(detectLocale('uk-UA-u-sd-ua43', COUNTRIES).value).toBe(false);
    expect(detectLocale('uk-UA-u-sd-ua43', COUNTRIES, new Set(['UA-43'])).value).toBe(true);
    expect(detectLocale('uk-UA-u-sd-ua43', new Set(['UA'])).value).toBe(true);
  });

  it.each([
    ['no-break space', '\u00a0'],
    ['ogham space mark', '\u1680'],
    ['en quad', '\u2000'],
    ['hair space', '\u200a'],
    ['line separator', '\u2028'],
    ['paragraph separator', '\u2029'],
    ['narrow no-break space', '\u202f'],
    ['medium mathematical space', '\u205f'],
    ['ideographic space', '\u3000'],
    ['byte order mark', '\ufeff'],
  ])('reads a tag padded with: %s', (_name, space) => {
    expect(detect(`en,${space}zh-CN${space};q=0.5`)).toMatchObject({ value: true, evidence: { tag: 'zh-CN', q: 0.5 } });
    expect(regionOfTag(`${space}zh-CN${space}`)).toEqual({ region: 'CN', source: 'region' });
  });

  it('reports the first restricted place in tag order', () => {
    expect(detect('zh-CN-u-rg-hkzzzz')).toMatchObject({ value: true, evidence: { country: 'CN', source: 'region' } });
    expect(detect('zh-HK-u-rg-cnzzzz')).toMatchObject({ value: true, evidence: { country: 'HK', source: 'region' } });
  });

  it.each([
    ['whole up to 64 characters', 64, false],
    ['cut beyond 64 characters', 65, true],
  ])('echoes a tag %s, wherever it sits in the header', (_name, length, cut) => {
    const tag = `zh-CN-${'a'.repeat(length - 6)}`;
    expect(tag).toHaveLength(length);
    const signal = detect(`en-US, de;q=0.9, ${tag};q=0.5`);
    expect(signal).toMatchObject({ value: true, evidence: { tag: cut ? `${tag.slice(0, 64)}…` : tag, country: 'CN', q: 0.5 } });
  });

  it('echoes at most 64 characters of a long tag', () => {
    const tag = `zh-CN${'-abcdefgh'.repeat(20)}`;
    const signal = detect(tag);
    expect(signal).toMatchObject({ value: true, evidence: { tag: `${tag.slice(0, 64)}…`, country: 'CN' } });
  });
});

describe('a 64 KiB header of junk', () => {
  const SIZE = 64 * 1024;
  // Deterministic junk over the characters a header parser cares about.
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_;=,.q *!"\t';
  let state = 42;
  const junk = Array.from({ length: SIZE }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return alphabet[state % alphabet.length];
  }).join('');
  // Restricted codes in the junk itself would make the expectations below moot: keep it clean.
  const clean = junk.replace(/[A-Za-z]{2}|\d{3}/g, (m) =>
    parseAcceptLanguage(`und-${m}`)[0]?.places.some((p) => COUNTRIES.has(p.region)) ? 'abc'.slice(0, m.length) : m,
  );

  it.each<[string, string, SignalValue]>([
    ['junk alone', clean, false],
    ['zh-CN after the junk', `${clean},zh-CN`, true],
    ['zh-CN before the junk', `zh-CN,${clean}`, true],
    ['one 64 KiB tag ending in a region', `zh${'-abcdefgh'.repeat(Math.ceil(SIZE / 9))}-CN`, true],
    ['64 KiB of commas, then zh-CN', `${','.repeat(SIZE)}zh-CN`, true],
    ['64 KiB of one entry with refused q parameters', `zh-CN${';q=0'.repeat(SIZE / 4)}`, true],
    ['11,000 tags naming the USSR, then zh-CN', `${'en-SU,'.repeat(11_000)}zh-CN`, true],
  ])('%s', (_name, header, want) => {
    expect(header.length).toBeGreaterThanOrEqual(SIZE);
    expect(detect(header).value).toBe(want);
    expect(() => parseAcceptLanguage(header)).not.toThrow();
  });

  it('parses every entry, without a cap', () => {
    expect(parseAcceptLanguage(`${filler(6000)}zh-CN`)).toHaveLength(6001);
  });
});

describe('property: no entry a client adds clears the signal', () => {
  const restrictedEntry = fc.constantFrom(
    'zh-CN',
    'zh-Hans-CN;q=0.5',
    'zh-cmn-Hans-CN',
    'ZH_cn;q=0;q=1',
    ' fa-IR ;q=abc',
    'en-US-u-rg-cnzzzz',
    'uk-UA-u-sd-ua43',
    'zh-156',
  );
  const tagLike = fc.stringMatching(/^[A-Za-z0-9_*-]{0,20}$/);
  const entry = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.tuple(tagLike, fc.stringMatching(/^(?:;\s?[qQ]=[0-9.a-z]{0,6})*$/)).map(([t, p]) => t + p),
    fc.constantFrom('*', 'x-cn', 'es-419', 'zh-Hans', 'zh-CN;q=0', ';q=0', ';', '', 'q=0', '"', '\\', 'zh-CN;q=0;', 'en;q=0.9'),
  );

  it('inserting any entries before or after a restricted tag keeps it true', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 40 }), restrictedEntry, fc.array(entry, { maxLength: 40 }), (before, tag, after) => {
        expect(detect([...before, tag, ...after].join(',')).value).toBe(true);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('splitting the header into repeated values keeps it true', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), restrictedEntry, fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }), (before, tag, others) => {
        expect(detect([...others, [...before, tag].join(','), ...others]).value).toBe(true);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('never throws and always answers true or false for a string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (header) => {
        expect([true, false]).toContain(detect(header).value);
        for (const p of parseAcceptLanguage(header)) expect(p.q).toBeGreaterThanOrEqual(0);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
