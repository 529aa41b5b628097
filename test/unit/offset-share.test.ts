// restrictedShareAt: who lives on a UTC offset at an instant, and how many of them in restricted
// places. Pinned instants, DST edges on both sides, and the generated population table's sanity.
import { describe, expect, it } from 'vitest';
import { ZONE_POPULATION } from '../../src/engine/data/zone-population';
import { restrictedShareAt, type RestrictedPlaces } from '../../src/engine/offset-share';
import { lookupZone, offsetAt } from '../../src/engine/timezone';
import { ZONE_REGIONS } from '../../src/engine/zone-regions';

const at = (iso: string) => Date.parse(iso);
const NOVEMBER = '2026-11-26T12:00:00Z';
const JULY = '2026-07-01T12:00:00Z';

const DEFAULT: RestrictedPlaces = {
  countries: new Set(['CN', 'HK', 'MO', 'KP', 'IR', 'SY', 'CU', 'RU']),
  regions: new Set(['UA-43', 'UA-40', 'UA-14', 'UA-09']),
};

const rows = ZONE_POPULATION.map((row) => {
  const [zone = '', country = '', population = ''] = row.split('|');
  return { row, zone, country, population: Number(population) };
});
const populationOf = (zone: string) => rows.filter((r) => r.zone === zone).reduce((sum, r) => sum + r.population, 0);

describe('restrictedShareAt with the default restricted places', () => {
  // [offset, instant, share above, share at most, restricted places (first ones, in order), not among them]
  it.each<[string, number, string, number, number, readonly string[], readonly string[]]>([
    // Iran alone keeps +03:30 (no DST since 2022).
    ['+03:30', 210, NOVEMBER, 0.999, 1, ['IR'], []],
    ['+03:30', 210, JULY, 0.999, 1, ['IR'], []],
    // China dwarfs everyone else on +08:00 (Philippines, Malaysia, Taiwan, Western Australia...).
    ['+08:00', 480, NOVEMBER, 0.8, 0.9, ['CN', 'HK'], []],
    ['+08:00', 480, JULY, 0.8, 0.9, ['CN', 'HK'], []],
    // Cuba among the US East, Colombia, Peru... in November; in July Cuba is on -04:00.
    ['-05:00', -300, NOVEMBER, 0, 0.1, ['CU'], []],
    ['-05:00', -300, JULY, -1, 0, [], ['CU']],
    ['-04:00', -240, JULY, 0, 0.1, ['CU'], []],
    // Moscow, Crimea and Syria among Turkey, Saudi Arabia, East Africa; in July eastern Europe
    // (Ukraine, Finland, Greece...) joins +03:00 and dilutes it.
    ['+03:00', 180, NOVEMBER, 0.1, 0.25, ['RU', 'SY', 'UA-40', 'UA-43'], ['UA']],
    ['+03:00', 180, JULY, 0.08, 0.2, ['RU', 'SY', 'UA-40', 'UA-43'], ['UA']],
    // Nepal: nobody restricted.
    ['+05:45', 345, NOVEMBER, -1, 0, [], []],
    // Korea and Japan; North Korea is the restricted part of +09:00.
    ['+09:00', 540, NOVEMBER, 0.05, 0.3, ['KP', 'RU'], []],
  ])('%s (%i min) at %s: share in (%d, %d], places start %j', (_label, offset, iso, above, atMost, first, absent) => {
    const r = restrictedShareAt(offset, at(iso), DEFAULT);
    expect(r).toBeDefined();
    if (!r) return;
    expect(r.offsetMinutes).toBe(offset);
    expect(r.share).toBeGreaterThan(above);
    expect(r.share).toBeLessThanOrEqual(atMost);
    expect(r.share).toBeCloseTo(r.restrictedPopulation / r.totalPopulation, 12);
    expect(r.restrictedPlaces.slice(0, first.length)).toEqual(first);
    for (const place of absent) expect(r.restrictedPlaces).not.toContain(place);
    if (r.restrictedPopulation === 0) expect(r.restrictedPlaces).toEqual([]);
  });

  it('+03:30 is all of Iran and nobody else', () => {
    const r = restrictedShareAt(210, at(NOVEMBER), DEFAULT);
    expect(r).toMatchObject({ share: 1, restrictedPlaces: ['IR'], totalPopulation: populationOf('Asia/Tehran') });
  });

  it('+03:00 counts Moscow-time Russia, Syria and Crimea (once, though named by two regions)', () => {
    const r = restrictedShareAt(180, at(NOVEMBER), DEFAULT);
    const moscowTimeRussia = rows
      .filter((row) => row.country === 'RU' && offsetAt(row.zone, at(NOVEMBER)) === 180)
      .reduce((sum, row) => sum + row.population, 0);
    expect(r?.restrictedPlaces).toEqual(['RU', 'SY', 'UA-40', 'UA-43']);
    expect(r?.restrictedPopulation).toBe(moscowTimeRussia + populationOf('Asia/Damascus') + populationOf('Europe/Simferopol'));
  });

  it.each<[string, number, string]>([
    ['+01:17, used by no zone', 77, NOVEMBER],
    ['-03:30, Newfoundland in winter, not in summer', -210, JULY],
    ['+05:45 at an instant that is not a number', 345, 'not a date'],
  ])('%s is undefined', (_label, offset, iso) => {
    expect(restrictedShareAt(offset, at(iso), DEFAULT)).toBeUndefined();
  });

  it('a fixed-offset zone is judged by its offset: Etc/GMT-8 is UTC+8, China', () => {
    const offset = offsetAt('Etc/GMT-8', at(NOVEMBER));
    expect(offset).toBe(480);
    expect(restrictedShareAt(offset ?? Number.NaN, at(NOVEMBER), DEFAULT)?.restrictedPlaces[0]).toBe('CN');
  });
});

describe('restrictedShareAt with other restricted places', () => {
  it.each<[string, RestrictedPlaces, number, readonly string[]]>([
    ['only Crimea: +03:00 through Europe/Simferopol', { countries: new Set(), regions: new Set(['UA-43']) }, 180, ['UA-43']],
    ['only Sevastopol: the same zone', { countries: new Set(), regions: new Set(['UA-40']) }, 180, ['UA-40']],
    // Donetsk and Luhansk have no zone of their own: a bare offset cannot point at them.
    ['only Donetsk and Luhansk: nothing', { countries: new Set(), regions: new Set(['UA-14', 'UA-09']) }, 180, []],
    ['Ukraine as a country takes Crimea as UA', { countries: new Set(['UA']), regions: new Set(['UA-43']) }, 180, ['UA']],
    ['nothing restricted', { countries: new Set(), regions: new Set() }, 480, []],
  ])('%s', (_label, places, offset, want) => {
    const r = restrictedShareAt(offset, at(NOVEMBER), places);
    expect(r?.restrictedPlaces).toEqual(want);
    // In November the rest of Ukraine is on +02:00, so Crimea is all a UA rule finds on +03:00.
    expect(r?.restrictedPopulation).toBe(want.length === 0 ? 0 : populationOf('Europe/Simferopol'));
    if (want.length > 0) expect(r?.share).toBeGreaterThan(0);
  });
});

describe('restrictedShareAt names places by the people they have on the offset', () => {
  it('adds up a country spread over several zones of one offset before ranking it', () => {
    // On +07:00 Russia has several zones (Novosibirsk, Krasnoyarsk, Tomsk...), fewer people than
    // Vietnam's one: Vietnam comes first, though Russia sorts first by name.
    const places: RestrictedPlaces = { countries: new Set(['RU', 'VN']), regions: new Set() };
    const r = restrictedShareAt(420, at(NOVEMBER), places);
    const onOffset = (country: string) => rows.filter((x) => x.country === country && offsetAt(x.zone, at(NOVEMBER)) === 420);
    expect(onOffset('RU').length).toBeGreaterThan(1);
    expect(r?.restrictedPlaces).toEqual(['VN', 'RU']);
  });
});

describe('restrictedShareAt at the ends of time', () => {
  it.each<[string, number, boolean]>([
    ['the last instant ECMAScript can represent', 8.64e15, true],
    ['past the last', 8.64e15 + 1, false],
    ['not a number', Number.NaN, false],
  ])('%s: answered %s', (_name, epochMs, answered) => {
    expect(restrictedShareAt(0, epochMs, DEFAULT) !== undefined).toBe(answered);
  });
});

describe('restrictedShareAt across DST transitions', () => {
  // Cuba leaves DST on 2026-11-01 at 01:00 CDT (05:00Z); the US East an hour later (06:00Z).
  it.each<[string, number, string, number, boolean]>([
    ['Cuba on -04:00 with the US East', -240, '2026-11-01T04:59:59Z', 0.03, true],
    ['Cuba gone from -04:00', -240, '2026-11-01T05:00:00Z', 0, false],
    ['Cuba not yet on -05:00', -300, '2026-11-01T04:59:59Z', 0, false],
    ['Cuba on -05:00 with US Central (still on CDT)', -300, '2026-11-01T05:00:00Z', 0.04, true],
    ['US East joins -05:00: the same Cubans, more people', -300, '2026-11-01T06:00:00Z', 0.02, true],
  ])('%s (%i min at %s): share above %s', (_label, offset, iso, above, hasCuba) => {
    const r = restrictedShareAt(offset, at(iso), DEFAULT);
    expect(r).toBeDefined();
    if (hasCuba) {
      expect(r?.share).toBeGreaterThan(above);
      expect(r?.restrictedPlaces).toEqual(['CU']);
      expect(r?.restrictedPopulation).toBe(populationOf('America/Havana'));
    } else {
      expect(r?.share).toBe(0);
    }
  });

  it('the US fall-back dilutes -05:00 and drains -04:00', () => {
    const before = at('2026-11-01T05:59:59Z');
    const after = at('2026-11-01T06:00:00Z');
    const east = populationOf('America/New_York');
    const minus5Before = restrictedShareAt(-300, before, DEFAULT);
    const minus5After = restrictedShareAt(-300, after, DEFAULT);
    const minus4Before = restrictedShareAt(-240, before, DEFAULT);
    const minus4After = restrictedShareAt(-240, after, DEFAULT);
    expect(minus5After?.share).toBeLessThan(minus5Before?.share ?? 0);
    expect((minus5After?.totalPopulation ?? 0) - (minus5Before?.totalPopulation ?? 0)).toBeGreaterThanOrEqual(east);
    expect((minus4Before?.totalPopulation ?? 0) - (minus4After?.totalPopulation ?? 0)).toBeGreaterThanOrEqual(east);
  });

  it('memoised answers follow the instant back and forth across a transition', () => {
    for (let i = 0; i < 3; i++) {
      expect(restrictedShareAt(-240, at('2026-11-01T04:59:59Z'), DEFAULT)?.share).toBeGreaterThan(0);
      expect(restrictedShareAt(-240, at('2026-11-01T05:00:00Z'), DEFAULT)?.share).toBe(0);
    }
  });
});

describe('restrictedShareAt memoisation', () => {
  it('returns the same frozen answer for the same places within a bucket', () => {
    const a = restrictedShareAt(480, at(NOVEMBER), DEFAULT);
    const b = restrictedShareAt(480, at(NOVEMBER) + 60_000, DEFAULT);
    expect(b).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('keeps answers apart for different places objects', () => {
    const onlyIran: RestrictedPlaces = { countries: new Set(['IR']), regions: new Set() };
    expect(restrictedShareAt(480, at(NOVEMBER), DEFAULT)?.share).toBeGreaterThan(0.8);
    expect(restrictedShareAt(480, at(NOVEMBER), onlyIran)?.share).toBe(0);
    expect(restrictedShareAt(480, at(NOVEMBER), DEFAULT)?.share).toBeGreaterThan(0.8);
  });

  it('puts every populated person on exactly one offset, and answers only for populated offsets', () => {
    const t = at(JULY);
    let total = 0;
    // Includes +12:45, which in July only Pacific/Chatham (population 0 in the table) uses.
    for (let offset = -12 * 60; offset <= 14 * 60; offset += 15) {
      const r = restrictedShareAt(offset, t, DEFAULT);
      if (r) expect(r.totalPopulation, String(offset)).toBeGreaterThan(0);
      total += r?.totalPopulation ?? 0;
    }
    expect(total).toBe(rows.reduce((sum, r) => sum + r.population, 0));
  });
});

describe('generated zone population table', () => {
  it('adds up to the world, give or take (7 to 9 billion)', () => {
    const total = rows.reduce((sum, r) => sum + r.population, 0);
    expect(total).toBeGreaterThan(7e9);
    expect(total).toBeLessThan(9e9);
  });

  it('has one well-formed row per zone and country, each zone in tzdata and of that country', () => {
    expect(new Set(rows.map((r) => `${r.zone}|${r.country}`)).size).toBe(rows.length);
    for (const r of rows) {
      expect(r.row).toMatch(/^[A-Za-z0-9_+/-]+\|[A-Z]{2}\|\d+$/);
      expect(Number.isSafeInteger(r.population)).toBe(true);
      const lookup = lookupZone(r.zone);
      expect(lookup.kind, r.zone).toBe('known');
      if (lookup.kind === 'known') expect(lookup.zone.countries, r.zone).toContain(r.country);
    }
  });

  it('puts the large countries where their people are', () => {
    expect(populationOf('Asia/Shanghai')).toBeGreaterThan(1.3e9);
    expect(populationOf('Asia/Tehran')).toBeGreaterThan(8e7);
    expect(populationOf('Europe/Moscow')).toBeGreaterThan(populationOf('Asia/Vladivostok'));
    expect(populationOf('America/New_York')).toBeGreaterThan(populationOf('America/Denver'));
    expect(populationOf('Europe/Simferopol')).toBeGreaterThan(1e6);
  });

  it('maps only zones the table knows to regions', () => {
    for (const zone of Object.keys(ZONE_REGIONS)) expect(populationOf(zone), zone).toBeGreaterThan(0);
  });
});
