import { describe, expect, it } from 'vitest';
import { countryOffsetsAt, ICU_LEGACY_ZONES, lookupZone, offsetAt } from '../../src/engine/timezone';

const at = (iso: string) => Date.parse(iso);

describe('lookupZone', () => {
  it.each([
    ['Asia/Shanghai', 'Asia/Shanghai', ['CN']],
    ['PRC', 'Asia/Shanghai', ['CN']],
    ['Asia/Chongqing', 'Asia/Shanghai', ['CN']],
    ['Asia/Chungking', 'Asia/Shanghai', ['CN']],
    ['Asia/Harbin', 'Asia/Shanghai', ['CN']],
    ['Asia/Urumqi', 'Asia/Urumqi', ['CN']],
    ['Asia/Kashgar', 'Asia/Urumqi', ['CN']],
    ['asia/shanghai', 'Asia/Shanghai', ['CN']],
    ['ASIA/CHONGQING', 'Asia/Shanghai', ['CN']],
    ['Asia/Taipei', 'Asia/Taipei', ['TW']],
    ['ROC', 'Asia/Taipei', ['TW']],
    ['Asia/Hong_Kong', 'Asia/Hong_Kong', ['HK']],
    ['Hongkong', 'Asia/Hong_Kong', ['HK']],
    ['Asia/Macao', 'Asia/Macau', ['MO']],
    ['Europe/Kiev', 'Europe/Kyiv', ['UA']],
    ['Europe/Simferopol', 'Europe/Simferopol', ['RU', 'UA']],
    ['W-SU', 'Europe/Moscow', ['RU']],
    ['Asia/Calcutta', 'Asia/Kolkata', ['IN']],
    ['US/Pacific', 'America/Los_Angeles', ['US']],
    ['Europe/Bratislava', 'Europe/Prague', ['SK']],
    ['Etc/GMT-8', 'Etc/GMT-8', []],
    ['UTC', 'Etc/UTC', []],
    // zone1970.tab: Australia's Eyre Bird Observatory keeps Tokyo's clock.
    [' Asia/Tokyo ', 'Asia/Tokyo', ['AU', 'JP']],
  ])('%j -> %s %j', (name, canonical, countries) => {
    const r = lookupZone(name);
    expect(r.kind).toBe('known');
    if (r.kind === 'known') {
      expect(r.zone.canonical).toBe(canonical);
      expect([...r.zone.countries].sort()).toEqual(countries);
    }
  });

  it.each(['Mars/Olympus_Mons', '', 'Asia/', '+08:00', 'GMT+8', 'x'.repeat(200), 'Asia/Shanghai\u0000'])('%j is invalid', (name) => {
    expect(lookupZone(name).kind).toBe('invalid');
  });
});

describe('lookupZone: legacy IDs', () => {
  it.each<[string, string, string[]]>([
    ['CTT', 'Asia/Shanghai', ['CN']],
    [' vst ', 'Asia/Ho_Chi_Minh', ['VN']],
    ['ist', 'Asia/Kolkata', ['IN']],
  ])('%j (any case, padded) resolves to %s %j', (name, canonical, countries) => {
    expect(lookupZone(name)).toEqual({ kind: 'known', zone: { canonical, countries } });
  });
});

describe('offsetAt', () => {
  it.each([
    // US DST 2026: starts 2026-03-08 07:00Z, ends 2026-11-01 06:00Z.
    ['America/New_York', '2026-03-08T06:59:59Z', -300],
    ['America/New_York', '2026-03-08T07:00:00Z', -240],
    ['America/New_York', '2026-11-01T05:59:59Z', -240],
    ['America/New_York', '2026-11-01T06:00:00Z', -300],
    // EU DST 2026: 2026-03-29 01:00Z to 2026-10-25 01:00Z.
    ['Europe/Berlin', '2026-03-29T00:59:59Z', 60],
    ['Europe/Berlin', '2026-03-29T01:00:00Z', 120],
    ['Europe/London', '2026-10-25T00:59:59Z', 60],
    ['Europe/London', '2026-10-25T01:00:00Z', 0],
    // Southern hemisphere: Sydney is on DST in January, not in July.
    ['Australia/Sydney', '2026-01-15T00:00:00Z', 660],
    ['Australia/Sydney', '2026-07-15T00:00:00Z', 600],
    // Lord Howe shifts by half an hour.
    ['Australia/Lord_Howe', '2026-01-15T00:00:00Z', 660],
    ['Australia/Lord_Howe', '2026-07-15T00:00:00Z', 630],
    ['Asia/Kathmandu', '2026-11-26T12:00:00Z', 345],
    ['Asia/Kolkata', '2026-11-26T12:00:00Z', 330],
    ['Asia/Shanghai', '2026-07-01T00:00:00Z', 480],
    ['Etc/UTC', '2026-07-01T00:00:00Z', 0],
    ['Etc/GMT+5', '2026-07-01T00:00:00Z', -300],
  ])('%s at %s is %i min', (zone, iso, minutes) => {
    expect(offsetAt(zone, at(iso))).toBe(minutes);
  });

  it('is undefined for a zone the runtime does not know', () => {
    expect(offsetAt('Mars/Olympus_Mons', at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  it('follows the instant across memo buckets in both directions', () => {
    const zone = 'America/Chicago';
    expect(offsetAt(zone, at('2026-03-08T08:00:00Z'))).toBe(-300);
    expect(offsetAt(zone, at('2026-03-08T07:59:00Z'))).toBe(-360);
    expect(offsetAt(zone, at('2026-03-08T08:00:00Z'))).toBe(-300);
  });
});

describe('countryOffsetsAt', () => {
  it('China uses Beijing time and Xinjiang time (Asia/Urumqi, UTC+6)', () => {
    expect([...countryOffsetsAt('CN', at('2026-07-01T00:00:00Z'))].sort((a, b) => a - b)).toEqual([360, 480]);
  });
  it('the United States spans Hawaii to the east coast, DST-aware', () => {
    const winter = [...countryOffsetsAt('US', at('2026-01-15T12:00:00Z'))].sort((a, b) => a - b);
    const summer = [...countryOffsetsAt('US', at('2026-07-15T12:00:00Z'))].sort((a, b) => a - b);
    expect(winter).toEqual([-600, -540, -480, -420, -360, -300]);
    // Adak (Aleutians) moves to -540 in summer, next to Alaska's -480.
    expect(summer).toEqual([-600, -540, -480, -420, -360, -300, -240]);
  });
  it('is empty for pseudo-countries', () => {
    expect(countryOffsetsAt('T1', at('2026-07-01T00:00:00Z')).size).toBe(0);
    expect(countryOffsetsAt('XX', at('2026-07-01T00:00:00Z')).size).toBe(0);
  });
});

describe('ICU legacy IDs', () => {
  it.each(Object.entries(ICU_LEGACY_ZONES))('%s resolves, in this runtime, to the zone the table says (%s)', (alias, target) => {
    const icu = new Intl.DateTimeFormat('en-US', { timeZone: alias }).resolvedOptions().timeZone;
    const viaIcu = lookupZone(icu);
    const viaTable = lookupZone(alias);
    expect(viaIcu.kind).toBe('known');
    expect(viaTable).toEqual(viaIcu);
    expect(viaTable.kind === 'known' && viaTable.zone.canonical).toBe(target);
  });

  it.each(['SystemV/EST5', 'GMT+8', 'Etc/Unknown', 'Nowhere/Land'])('%s is invalid, whatever the runtime might accept', (name) => {
    expect(lookupZone(name).kind).toBe('invalid');
  });

  it('is deterministic: no earlier lookup changes a later one', () => {
    const before = lookupZone('CTT');
    for (let i = 0; i < 500; i++) lookupZone(`Junk/Name_${i}`);
    expect(lookupZone('CTT')).toBe(before);
  });
});
