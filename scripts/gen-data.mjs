#!/usr/bin/env node
// Derives the engine's static tables from the data files shipped in data/ (tzdata; the X4B
// network lists have their own build, scripts/build-intel.mjs) and from two exact-pinned devDependencies (cldr-core populations,
// city-timezones cities). Deterministic and offline: run `npm run gen:data` after updating data/
// or bumping those packages, then commit the regenerated files under src/engine/data/.
// `--check` (run by `npm run lint`) fails when any of them is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p) => readFileSync(join(root, p), 'utf8');
const dataLines = (text) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** Builds { zones, links, version } from tzdata.zi, zone.tab and zone1970.tab. */
export function buildTimezoneTable() {
  const zi = read('data/tzdata/tzdata.zi');
  const version = /^# version (\S+)/m.exec(zi)?.[1];
  if (!version) throw new Error('tzdata.zi has no "# version" line');
  const zoneNames = new Set();
  const links = new Map();
  for (const line of zi.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'Z') zoneNames.add(f[1]);
    else if (f[0] === 'L') links.set(f[2], f[1]);
  }
  // A name's countries: its own rows in zone.tab and zone1970.tab. zone.tab names the country
  // users associate with the zone (Europe/Bratislava -> SK even though it links to Prague);
  // zone1970.tab adds every country sharing that clock (Europe/Simferopol -> RU,UA).
  const countries = new Map();
  const add = (name, codes) => {
    const set = countries.get(name) ?? new Set();
    for (const c of codes) set.add(c);
    countries.set(name, set);
  };
  for (const l of dataLines(read('data/tzdata/zone.tab'))) {
    const [cc, , name] = l.split('\t');
    add(name, [cc]);
  }
  for (const l of dataLines(read('data/tzdata/zone1970.tab'))) {
    const [ccs, , name] = l.split('\t');
    add(name, ccs.split(','));
  }
  for (const name of countries.keys()) {
    if (!zoneNames.has(name) && !links.has(name)) throw new Error(`tab names unknown zone ${name}`);
  }
  const resolve = (name) => {
    let n = name;
    for (let hops = 0; links.has(n); hops++) {
      if (hops > 4) throw new Error(`link loop at ${name}`);
      n = links.get(n);
    }
    return n;
  };
  // Every name (zone or alias) -> [canonical zone, countries]. Aliases without their own tab
  // row take their target's countries (Asia/Chongqing -> Asia/Shanghai -> CN).
  const rows = [];
  for (const name of [...zoneNames, ...links.keys()].sort()) {
    const canonical = resolve(name);
    if (!zoneNames.has(canonical)) throw new Error(`${name} resolves to unknown zone ${canonical}`);
    const own = countries.get(name) ?? countries.get(canonical) ?? new Set();
    rows.push([name, canonical, [...own].sort()]);
  }
  return { version, rows };
}

/** ISO 3166-1 alpha-2 codes from iso3166.tab. */
export function buildIsoCountries() {
  return dataLines(read('data/tzdata/iso3166.tab')).map((l) => l.split('\t')[0]).sort();
}

/** Name and version of an installed package, for the generated headers (bumping it makes them stale). */
function packageVersion(name) {
  return JSON.parse(read(`node_modules/${name}/package.json`)).version;
}

/**
 * Population per zone.tab row, for weighing a bare UTC offset by who lives on it.
 *
 * Method: each row (one zone, one country) gets
 *   CLDR population of the country x (city population of the country in that zone /
 *                                     city population of the country in all its zone.tab zones),
 * with city populations from city-timezones (~7,300 populated places). A city's zone is resolved
 * through tzdata links to the country's own zone.tab zone with the same canonical zone
 * (Europe/Zaporozhye -> Europe/Kyiv, Asia/Chongqing -> Asia/Shanghai), the exact name winning if
 * several rows of the country share a canonical zone. A single-zone country puts everything on
 * its zone; a multi-zone country with no usable city splits evenly. Shares are rounded by largest
 * remainder, so a country's rows add up to its CLDR population exactly.
 *
 * Known approximations (also in data/population/SOURCE.md):
 * - City populations are metropolitan figures of the larger places only; rural regions and small
 *   zones count for little or nothing (a zone without a listed city gets 0: America/Adak...).
 * - A city is dropped when its zone is not one of its country's zone.tab zones, or it has no
 *   zone or no ISO country (Antarctic stations, Kosovo, Somaliland).
 * - CLDR territories without a zone.tab row (XK Kosovo, IC Canary Islands and EA Ceuta and
 *   Melilla, whose populations CLDR also counts in ES, and tiny islands) are left out.
 * - tzdb zones model clocks, not law: Asia/Urumqi is Xinjiang's unofficial clock (many there
 *   keep Beijing time); occupied parts of Donetsk and Luhansk keep Moscow time but have no zone,
 *   so they count on Europe/Kyiv.
 *
 * @returns {{ cldrVersion: string, cityVersion: string, rows: [string, string, number][],
 *   dropped: { city: string, iso2: string, timezone: string | null, reason: string }[] }}
 *   rows are [zone, country, population] sorted by zone then country.
 */
export function buildZonePopulation(tzRows) {
  const canonicalOf = new Map(tzRows.map(([name, canonical]) => [name, canonical]));
  const territories = JSON.parse(read('node_modules/cldr-core/supplemental/territoryInfo.json')).supplemental
    .territoryInfo;
  const cities = JSON.parse(read('node_modules/city-timezones/data/cityMap.json'));

  // Country -> its zone.tab zones, in file order.
  const zonesOf = new Map();
  for (const l of dataLines(read('data/tzdata/zone.tab'))) {
    const [cc, , name] = l.split('\t');
    const list = zonesOf.get(cc) ?? [];
    list.push(name);
    zonesOf.set(cc, list);
  }

  // Country -> zone.tab zone -> population of its cities there.
  const cityPop = new Map();
  const dropped = [];
  for (const c of cities) {
    const drop = (reason) => dropped.push({ city: c.city, iso2: String(c.iso2), timezone: c.timezone, reason });
    if (typeof c.pop !== 'number' || !(c.pop > 0)) {
      drop('no population');
      continue;
    }
    const zones = zonesOf.get(c.iso2);
    if (!zones) {
      drop('country not in zone.tab');
      continue;
    }
    if (typeof c.timezone !== 'string') {
      drop('no zone');
      continue;
    }
    const canonical = canonicalOf.get(c.timezone);
    if (!canonical) {
      drop('zone unknown to tzdata');
      continue;
    }
    const zone = zones.includes(c.timezone) ? c.timezone : zones.find((z) => canonicalOf.get(z) === canonical);
    if (!zone) {
      drop("zone is not one of the country's");
      continue;
    }
    const byZone = cityPop.get(c.iso2) ?? new Map();
    byZone.set(zone, (byZone.get(zone) ?? 0) + c.pop);
    cityPop.set(c.iso2, byZone);
  }

  const rows = [];
  for (const [cc, zones] of zonesOf) {
    const info = territories[cc];
    const population = Number(info?._population);
    if (!Number.isSafeInteger(population) || population < 0) throw new Error(`CLDR has no population for ${cc}`);
    const byZone = cityPop.get(cc);
    const cityTotal = byZone ? [...byZone.values()].reduce((a, b) => a + b, 0) : 0;
    const weights = zones.map((z) => (cityTotal > 0 ? (byZone?.get(z) ?? 0) / cityTotal : 1 / zones.length));
    // Largest remainder: floors first, then one person each to the largest fractions (ties by
    // zone order), so the rows of a country add up to its CLDR population.
    const exact = weights.map((w) => w * population);
    const counts = exact.map(Math.floor);
    let left = population - counts.reduce((a, b) => a + b, 0);
    const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of order) {
      if (left <= 0) break;
      counts[i]++;
      left--;
    }
    zones.forEach((z, i) => rows.push([z, cc, counts[i]]));
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return { cldrVersion: packageVersion('cldr-core'), cityVersion: packageVersion('city-timezones'), rows, dropped };
}

const HEADER = '// GENERATED by scripts/gen-data.mjs from data/: do not edit by hand.\n';

/** A licence file (a path from the repository root) as the lines of a JSDoc block. */
export function licenceComment(path) {
  return read(path)
    .trim()
    .split('\n')
    .map((l) => (l ? ` * ${l}` : ' *'))
    .join('\n');
}

/** Renders every generated module: { relativePath: text }. */
export function renderAll() {
  const tz = buildTimezoneTable();
  // Compact rows: "name|canonical|CC,CC" with canonical "" when the name is canonical itself.
  const tzLines = tz.rows.map(([name, canonical, ccs]) =>
    JSON.stringify(`${name}|${canonical === name ? '' : canonical}|${ccs.join(',')}`),
  );
  const tzModule = `${HEADER}// Source: IANA tzdata ${tz.version} (public domain): tzdata.zi names and aliases, countries from
// zone.tab and zone1970.tab. One row per name: "name|canonical (empty if itself)|countries".

/** The tzdata release these rows come from. */
export const TZDATA_VERSION = ${JSON.stringify(tz.version)};

/** Every IANA zone name and alias, with its canonical zone and the countries that use it. */
export const TZ_ROWS: readonly string[] = [
${tzLines.map((l) => `  ${l},`).join('\n')}
];
`;
  const iso = buildIsoCountries();
  const isoModule = `${HEADER}// Source: IANA tzdata iso3166.tab (public domain).

/** ISO 3166-1 alpha-2 country codes. */
export const ISO_COUNTRY_CODES: readonly string[] = ${JSON.stringify(iso)};
`;
  const pop = buildZonePopulation(tz.rows);
  const popTotal = pop.rows.reduce((sum, [, , n]) => sum + n, 0);
  const popModule = `// GENERATED by scripts/gen-data.mjs from data/tzdata, cldr-core and city-timezones: do not edit by hand.
/**
 * @license
 * Populations derived from Unicode CLDR (cldr-core ${pop.cldrVersion}, supplemental/territoryInfo.json),
 * split across time zones with city populations from city-timezones ${pop.cityVersion}, and tzdata
 * ${tz.version} (public domain). Method and approximations: data/population/SOURCE.md.
 *
${licenceComment('node_modules/cldr-core/LICENSE')}
 *
 * city-timezones (package.json declares MIT; the package ships no licence file):
${licenceComment('data/population/city-timezones-LICENSE')}
 */

/**
 * Population of each zone.tab row (one zone, one country): "zone|country|population", sorted by
 * zone. ${pop.rows.length} rows, ${popTotal} people in all; a zone no listed city uses has 0.
 */
export const ZONE_POPULATION: readonly string[] = [
${pop.rows.map(([zone, cc, n]) => `  ${JSON.stringify(`${zone}|${cc}|${n}`)},`).join('\n')}
];
`;
  return {
    'src/engine/data/tz-zones.ts': tzModule,
    'src/engine/data/iso-countries.ts': isoModule,
    'src/engine/data/zone-population.ts': popModule,
    // A verbatim copy, so that bumping cldr-core without refreshing the notice fails --check.
    'data/population/cldr-LICENSE': read('node_modules/cldr-core/LICENSE'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [rel, text] of Object.entries(renderAll())) {
    const path = join(root, rel);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      // missing file: written below, or reported as stale under --check
    }
    if (current === text) continue;
    if (check) {
      console.error(`${rel} is out of date: run npm run gen:data`);
      stale++;
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${rel}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
