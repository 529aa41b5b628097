// LOCALE_RESTRICTED: the browser asks for a language variant of a restricted country
// (`zh-CN`, `fa-IR`, `ru-RU`). A weak signal on its own: speakers live everywhere.
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';

/** Tags read from one Accept-Language header; the rest is ignored (browsers send a handful). */
const MAX_TAGS = 32;

const TAG = /^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$/;
const QUALITY = /;\s*q\s*=([^;]*)/i;

/** The region subtag of a BCP 47 tag, upper-cased (`zh-Hans-CN` -> `CN`), if it has one. */
export function regionOfTag(tag: string): string | undefined {
  // Subtags: language, then an optional 4-letter script, then the region we want.
  let start = subtagEnd(tag, 0) + 1;
  if (start > tag.length) return undefined;
  let end = subtagEnd(tag, start);
  if (end - start === 4) {
    start = end + 1;
    end = subtagEnd(tag, start);
  }
  if (end - start !== 2) return undefined;
  const region = tag.slice(start, end);
  return /^[A-Za-z]{2}$/.test(region) ? region.toUpperCase() : undefined;
}

function subtagEnd(tag: string, from: number): number {
  let i = from;
  while (i < tag.length && tag[i] !== '-' && tag[i] !== '_') i++;
  return i;
}

/**
 * Language tags of an Accept-Language header with a non-zero quality, in header order.
 * Malformed entries are skipped rather than rejected: the header is the client's to garble.
 */
export function parseAcceptLanguage(header: string): string[] {
  const tags: string[] = [];
  for (const part of header.split(',', MAX_TAGS)) {
    const semi = part.indexOf(';');
    const tag = (semi < 0 ? part : part.slice(0, semi)).trim();
    if (!TAG.test(tag)) continue;
    const q = semi < 0 ? null : QUALITY.exec(part);
    if (q && !(Number(q[1]) > 0)) continue;
    tags.push(tag);
  }
  return tags;
}

const NO_HEADER = undetermined('no Accept-Language');

/** LOCALE_RESTRICTED for one request. */
export function detectLocale(acceptLanguage: string | undefined, restrictedCountries: ReadonlySet<string>): Signal {
  if (acceptLanguage === undefined) return NO_HEADER;
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
  return SIGNAL_FALSE;
}
