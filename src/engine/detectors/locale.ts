// LOCALE_RESTRICTED: the browser asks for a language variant of a restricted country
// (`zh-CN`, `fa-IR`, `ru-RU`). A weak signal on its own: speakers live everywhere.
import type { Signal } from '../types';

/** Tags read from one Accept-Language header; the rest is ignored (browsers send a handful). */
const MAX_TAGS = 32;

/** The region subtag of a BCP 47 tag, upper-cased (`zh-Hans-CN` -> `CN`), if it has one. */
export function regionOfTag(tag: string): string | undefined {
  const parts = tag.split(/[-_]/);
  let i = 1;
  if (parts[i]?.length === 4) i++; // script subtag, e.g. Hans
  const region = parts[i];
  return region && /^[A-Za-z]{2}$/.test(region) ? region.toUpperCase() : undefined;
}

/**
 * Language tags of an Accept-Language header with a non-zero quality, in header order.
 * Malformed entries are skipped rather than rejected: the header is the client's to garble.
 */
export function parseAcceptLanguage(header: string): string[] {
  const tags: string[] = [];
  for (const part of header.split(',', MAX_TAGS)) {
    const [rawTag = '', ...params] = part.split(';');
    const tag = rawTag.trim();
    if (!/^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$/.test(tag)) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    tags.push(tag);
  }
  return tags;
}

/** LOCALE_RESTRICTED for one request. */
export function detectLocale(acceptLanguage: string | undefined, restrictedCountries: ReadonlySet<string>): Signal {
  if (acceptLanguage === undefined) return { value: 'undetermined', why: 'no Accept-Language' };
  for (const tag of parseAcceptLanguage(acceptLanguage)) {
    const region = regionOfTag(tag);
    if (region !== undefined && restrictedCountries.has(region)) {
      return {
        value: true,
        message: `The browser asks for ${tag}, a locale of restricted country ${region}.`,
        evidence: { tag, country: region },
      };
    }
  }
  return { value: false };
}
