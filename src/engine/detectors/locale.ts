// LOCALE_RESTRICTED: the browser asks for a language variant of a restricted place: a region
// subtag (`zh-CN`, `fa-IR`, `ru-RU`) or a Unicode region or subdivision keyword (`en-US-u-rg-cnzzzz`,
// `uk-UA-u-sd-ua43`). A weak signal on its own: speakers live everywhere.
//
// Invariants: pure (no I/O, no clock, no regular expressions). Every header is read whole, however
// long, in one linear pass. The reading is conservative, because nothing a client adds may lower
// suspicion: junk entries, extra or repeated parameters, `_` for `-`, any case, extlangs, or garbage
// after a region hide no tag. Only an entry whose one parameter is a well-formed `q=0` is dropped.
// A well-formed tag points exactly where RFC 5646 and UTS #35 say; a malformed one may point at
// more places, never fewer. Deprecated and numeric region codes read as CLDR's current ones
// (`ru-SU`, `zh-156`), as `Intl.getCanonicalLocales` and every ICU-based origin read them.
import { SIGNAL_FALSE, undetermined, type Signal } from '../types';

/** Where a tag names a place: its region subtag, or the Unicode `rg` / `sd` keyword. */
export type RegionSource = 'region' | 'u-rg' | 'u-sd';

/** One place a language tag points at. */
export interface TagPlace {
  /** ISO 3166-1 alpha-2, upper case. */
  readonly region: string;
  /** ISO 3166-2 code (`UA-43`) when a Unicode subdivision names one. */
  readonly subdivision?: string;
  readonly source: RegionSource;
}

/** One entry of an Accept-Language header. */
export interface LanguagePreference {
  /** As sent, trimmed. */
  readonly tag: string;
  /**
   * Effective quality, 0..1: the largest well-formed `q` of the entry, or 1 when it has none.
   * An entry that is listed always counts, even at 0 (a repeated `q=0;q=0` is not a clean refusal).
   */
  readonly q: number;
  /** ISO 3166-1 alpha-2 (upper case) the tag points at, if any: `places[0].region`. */
  readonly region?: string;
  /** ISO 3166-2 (e.g. "UA-43") from a `-u-sd-` (or `-u-rg-`) keyword, if any: `places[0].subdivision`. */
  readonly subdivision?: string;
  /** Where `region` came from: `places[0].source`. */
  readonly regionSource?: RegionSource;
  /**
   * Every place the tag points at, most specific first (`u-sd`, then `u-rg`, then the region
   * subtag). A well-formed tag names one or two; a malformed one, or a deprecated code that CLDR
   * splits (`SU`), may name more, and the detector checks them all.
   */
  readonly places: readonly TagPlace[];
}

/**
 * Deprecated ISO 3166-1 codes and UN M.49 numeric codes, with the current alpha-2 codes CLDR
 * replaces them by (territoryAlias of cldr-core 48.2; the tests check this copy against it).
 * Codes CLDR splits list every successor: a tag naming the USSR points at Russia, among others.
 * Numeric codes of areas (`419`, `150`) have no alpha-2 successor and name no country.
 * Format: `CODE:SUCCESSORS`, successors as concatenated pairs of letters.
 */
const REGION_ALIAS_TABLE = [
  '004:AF 008:AL 010:AQ 012:DZ 016:AS 020:AD 024:AO 028:AG 031:AZ 032:AR 036:AU 040:AT 044:BS',
  '048:BH 050:BD 051:AM 052:BB 056:BE 060:BM 064:BT 068:BO 070:BA 072:BW 074:BV 076:BR 084:BZ',
  '086:IO 090:SB 092:VG 096:BN 100:BG 104:MM 108:BI 112:BY 116:KH 120:CM 124:CA 132:CV 136:KY',
  '140:CF 144:LK 148:TD 152:CL 156:CN 158:TW 162:CX 166:CC 170:CO 172:RUAMAZBYGEKGKZMDTJTMUAUZ',
  '174:KM 175:YT 178:CG 180:CD 184:CK 188:CR 191:HR 192:CU 196:CY 200:CZSK 203:CZ 204:BJ 208:DK',
  '212:DM 214:DO 218:EC 222:SV 226:GQ 230:ET 231:ET 232:ER 233:EE 234:FO 238:FK 239:GS 242:FJ',
  '246:FI 248:AX 249:FR 250:FR 254:GF 258:PF 260:TF 262:DJ 266:GA 268:GE 270:GM 275:PS 276:DE',
  '278:DE 280:DE 288:GH 292:GI 296:KI 300:GR 304:GL 308:GD 312:GP 316:GU 320:GT 324:GN 328:GY',
  '332:HT 334:HM 336:VA 340:HN 344:HK 348:HU 352:IS 356:IN 360:ID 364:IR 368:IQ 372:IE 376:IL',
  '380:IT 384:CI 388:JM 392:JP 398:KZ 400:JO 404:KE 408:KP 410:KR 414:KW 417:KG 418:LA 422:LB',
  '426:LS 428:LV 430:LR 434:LY 438:LI 440:LT 442:LU 446:MO 450:MG 454:MW 458:MY 462:MV 466:ML',
  '470:MT 474:MQ 478:MR 480:MU 484:MX 492:MC 496:MN 498:MD 499:ME 500:MS 504:MA 508:MZ 512:OM',
  '516:NA 520:NR 524:NP 528:NL 530:CWSXBQ 531:CW 532:CWSXBQ 533:AW 534:SX 535:BQ 536:SAIQ 540:NC',
  '548:VU 554:NZ 558:NI 562:NE 566:NG 570:NU 574:NF 578:NO 580:MP 581:UM 582:FMMHMPPW 583:FM 584:MH',
  '585:PW 586:PK 591:PA 598:PG 600:PY 604:PE 608:PH 612:PN 616:PL 620:PT 624:GW 626:TL 630:PR',
  '634:QA 638:RE 642:RO 643:RU 646:RW 652:BL 654:SH 659:KN 660:AI 662:LC 663:MF 666:PM 670:VC',
  '674:SM 678:ST 682:SA 686:SN 688:RS 690:SC 694:SL 702:SG 703:SK 704:VN 705:SI 706:SO 710:ZA',
  '716:ZW 720:YE 724:ES 728:SS 729:SD 732:EH 736:SD 740:SR 744:SJ 748:SZ 752:SE 756:CH 760:SY',
  '762:TJ 764:TH 768:TG 772:TK 776:TO 780:TT 784:AE 788:TN 792:TR 795:TM 796:TC 798:TV 800:UG',
  '804:UA 807:MK 810:RUAMAZBYEEGEKZKGLVLTMDTJTMUAUZ 818:EG 826:GB 830:JEGG 831:GG 832:JE 833:IM',
  '834:TZ 840:US 850:VI 854:BF 858:UY 860:UZ 862:VE 876:WF 882:WS 886:YE 887:YE 890:RSMESIHRMKBA',
  '891:RSME 894:ZM 958:AA 959:QM 960:QN 962:QP 963:QQ 964:QR 965:QS 966:QT 967:EU 968:QV 969:QW',
  '970:QX 971:QY 972:QZ 973:XA 974:XB 975:XC 976:XD 977:XE 978:XF 979:XG 980:XH 981:XI 982:XJ',
  '983:XK 984:XL 985:XM 986:XN 987:XO 988:XP 989:XQ 990:XR 991:XS 992:XT 993:XU 994:XV 995:XW',
  '996:XX 997:XY 998:XZ 999:ZZ AN:CWSXBQ BU:MM CS:RSME CT:KI DD:DE DY:BJ FQ:AQTF FX:FR HV:BF JT:UM',
  'MI:UM NH:VU NQ:AQ NT:SAIQ PC:FMMHMPPW PU:UM PZ:PA QU:EU RH:ZW SU:RUAMAZBYEEGEKZKGLVLTMDTJTMUAUZ',
  'TP:TL UK:GB VD:VN WK:UM YD:YE YU:RSME ZR:CD',
].join(' ');

/** Deprecated or numeric region code -> current alpha-2 successors; built once at module load. */
const REGION_ALIASES: ReadonlyMap<string, readonly string[]> = new Map(
  REGION_ALIAS_TABLE.split(' ').map((entry) => {
    const [code = '', successors = ''] = entry.split(':');
    const list: string[] = [];
    for (let i = 0; i < successors.length; i += 2) list.push(successors.slice(i, i + 2));
    return [code, list];
  }),
);

// Character codes the scanner compares against.
const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DOT = 0x2e;
const HYPHEN = 0x2d;
const UNDERSCORE = 0x5f;
const ZERO = 0x30;
const ONE = 0x31;
const LOWER_Q = 0x71;
const LOWER_R = 0x72;
const LOWER_G = 0x67;
const LOWER_S = 0x73;
const LOWER_D = 0x64;
const LOWER_U = 0x75;
const LOWER_X = 0x78;
/** Case folding for ASCII letters: `c | CASE_BIT` is lower case (and leaves digits unchanged). */
const CASE_BIT = 0x20;

function isLetter(c: number): boolean {
  const lower = c | CASE_BIT;
  return lower >= 0x61 && lower <= 0x7a;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= 0x39;
}

function isSeparator(c: number): boolean {
  return c === HYPHEN || c === UNDERSCORE;
}

/**
 * Padding around entries, tags and parameters: ASCII controls and space, and Unicode spaces
 * (what `String.prototype.trim` removes). Wider than RFC 9110's OWS on purpose: a tag hidden
 * behind a no-break space is still a tag.
 */
function isSpace(c: number): boolean {
  return (
    c <= 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** A qvalue (RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`) read from `s[from, to)`, or -1 when malformed. */
function qvalueOf(s: string, from: number, to: number): number {
  const length = to - from;
  if (length < 1 || length > 5) return -1;
  const first = s.charCodeAt(from);
  if (first !== ZERO && first !== ONE) return -1;
  if (length === 1) return first - ZERO;
  if (s.charCodeAt(from + 1) !== DOT) return -1;
  let fraction = 0;
  let scale = 1;
  for (let i = from + 2; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c) || (first === ONE && c !== ZERO)) return -1;
    fraction = fraction * 10 + (c - ZERO);
    scale *= 10;
  }
  return first - ZERO + fraction / scale;
}

/** `qualityOf`'s answer for an entry the client cleanly refused. */
const REFUSED = -1;

/**
 * The effective quality of an entry's parameters `s[from, to)` (after its first `;`), or REFUSED.
 * Refused means exactly one parameter, a well-formed `q` equal to zero. Anything else counts, at
 * the largest well-formed q, or 1: a second `q`, a malformed one or another parameter makes the
 * client's intent ambiguous, and an ambiguity must not hide a tag.
 */
function qualityOf(s: string, from: number, to: number): number {
  let parameters = 0;
  let qs = 0;
  let best = -1;
  let p = from;
  for (;;) {
    let end = p;
    while (end < to && s.charCodeAt(end) !== SEMICOLON) end++;
    parameters++;
    let a = p;
    let b = end;
    while (a < b && isSpace(s.charCodeAt(a))) a++;
    while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
    // RFC 9110 allows no whitespace around this `=`: `q = 0` is some other parameter.
    if (b - a >= 2 && (s.charCodeAt(a) | CASE_BIT) === LOWER_Q && s.charCodeAt(a + 1) === EQUALS) {
      qs++;
      best = Math.max(best, qvalueOf(s, a + 2, b));
    }
    if (end >= to) break;
    p = end + 1;
  }
  if (parameters === 1 && qs === 1 && best === 0) return REFUSED;
  return best < 0 ? 1 : best;
}

/**
 * Visits every counted entry of `header` in order, with the bounds of its trimmed tag and its
 * quality, until `visit` returns something other than undefined, which is then returned.
 * Entries are split on every comma (quoted strings are not a thing in Accept-Language).
 */
function scanHeader<T>(header: string, visit: (tagStart: number, tagEnd: number, q: number) => T | undefined): T | undefined {
  const n = header.length;
  let i = 0;
  while (i < n) {
    let end = i;
    let semicolon = -1;
    // One forward pass per entry: bounding the `;` search by the entry keeps the whole scan linear.
    for (; end < n; end++) {
      const c = header.charCodeAt(end);
      if (c === COMMA) break;
      if (c === SEMICOLON && semicolon < 0) semicolon = end;
    }
    let a = i;
    let b = semicolon < 0 ? end : semicolon;
    while (a < b && isSpace(header.charCodeAt(a))) a++;
    while (b > a && isSpace(header.charCodeAt(b - 1))) b--;
    if (a < b) {
      const q = semicolon < 0 ? 1 : qualityOf(header, semicolon + 1, end);
      if (q !== REFUSED) {
        const result = visit(a, b, q);
        if (result !== undefined) return result;
      }
    }
    i = end + 1;
  }
  return undefined;
}

/**
 * Every region code (2 letters, any case, or 3 digits) as a small integer: the index of its
 * places in PLACE_CACHE. Letters take 0..675, digits 676..1675.
 */
const DIGIT_KEYS = 26 * 26;
const CODE_KEYS = DIGIT_KEYS + 1000;

/**
 * The places a region code stands for, per source, built on first use and frozen. A bounded memo
 * (CODE_KEYS entries per source), so reading a region subtag allocates nothing: a header of
 * thousands of tags costs no more garbage than its few distinct codes.
 */
const PLACE_CACHE: Readonly<Record<RegionSource, (readonly TagPlace[] | undefined)[]>> = {
  region: new Array<readonly TagPlace[] | undefined>(CODE_KEYS),
  'u-rg': new Array<readonly TagPlace[] | undefined>(CODE_KEYS),
  'u-sd': new Array<readonly TagPlace[] | undefined>(CODE_KEYS),
};

const NO_PLACES: readonly TagPlace[] = Object.freeze([]);

/** The places of the region code with `key`, from `source`: itself, its CLDR successors, or none (an area). */
function placesOfCode(key: number, source: RegionSource): readonly TagPlace[] {
  const cache = PLACE_CACHE[source];
  const cached = cache[key];
  if (cached !== undefined) return cached;
  const code =
    key < DIGIT_KEYS ? String.fromCharCode(0x41 + Math.floor(key / 26), 0x41 + (key % 26)) : String(key - DIGIT_KEYS).padStart(3, '0');
  // Three digits that CLDR does not replace name an area (`419` Latin America), not a country.
  const regions = REGION_ALIASES.get(code) ?? (key < DIGIT_KEYS ? [code] : []);
  const places = Object.freeze(regions.map((region): TagPlace => Object.freeze({ region, source })));
  cache[key] = places;
  return places;
}

/** The key of the region code `s[from, from + length)`, or -1 when it is not 2 letters or 3 digits. */
function codeKey(s: string, from: number, length: number): number {
  const c0 = s.charCodeAt(from);
  const c1 = s.charCodeAt(from + 1);
  if (length === 2 && isLetter(c0) && isLetter(c1)) return ((c0 | CASE_BIT) - 0x61) * 26 + ((c1 | CASE_BIT) - 0x61);
  const c2 = s.charCodeAt(from + 2);
  if (length === 3 && isDigit(c0) && isDigit(c1) && isDigit(c2)) return DIGIT_KEYS + (c0 - ZERO) * 100 + (c1 - ZERO) * 10 + (c2 - ZERO);
  return -1;
}

/**
 * The places a UTS #35 subdivision id in `s[from, from + length)` names: `ua43` -> UA with UA-43,
 * `cnzzzz` -> CN (`zzzz`: the whole region), `156zzzz` -> CN. Undefined when it is no such id.
 */
function placesOfSubdivisionId(s: string, from: number, length: number, source: RegionSource): readonly TagPlace[] | undefined {
  const regionLength = isLetter(s.charCodeAt(from)) ? 2 : 3;
  const suffixLength = length - regionLength;
  if (suffixLength < 1 || suffixLength > 4) return undefined;
  const key = codeKey(s, from, regionLength);
  if (key < 0) return undefined;
  const places = placesOfCode(key, source);
  const suffix = s.slice(from + regionLength, from + length).toUpperCase();
  // A subdivision of a numeric or replaced code (`su…`) cannot be placed: the successors stand alone.
  if (suffix === 'ZZZZ' || key >= DIGIT_KEYS || REGION_ALIASES.has(s.slice(from, from + 2).toUpperCase())) return places;
  const region = places[0]?.region;
  return region === undefined ? places : [{ region, subdivision: `${region}-${suffix}`, source }];
}

/** Receives the places of a tag as they are read; `add` returns true to stop reading. */
interface PlaceSink {
  add(places: readonly TagPlace[]): boolean;
}

/** Which part of a tag the reader is in: before any extension, in `-u-`, or in another extension. */
const MAIN = 0;
const UNICODE = 1;
const OTHER_EXTENSION = 2;
/** The `-u-` keyword whose values the reader is collecting. */
const NO_KEY = 0;
const KEY_RG = 1;
const KEY_SD = 2;

/**
 * Where the language subtag of the tag at `s[start, end)` ends, or -1 when the tag does not start
 * with one (`*`, `x-…` private use, `i-…` grandfathered, junk): such an entry names nothing.
 */
function languageEnd(s: string, start: number, end: number): number {
  let p = start;
  while (p < end && isLetter(s.charCodeAt(p))) p++;
  const length = p - start;
  return length < 2 || length > 8 || (p < end && isDigit(s.charCodeAt(p))) ? -1 : p;
}

/**
 * Reads the subtags after the language (`s[from, end)`) and hands `sink` the places they name,
 * in tag order. The tag is read up to the first character no tag can contain.
 *
 * Before the first singleton, every 2-letter or 3-digit subtag is taken as a region: in a
 * well-formed tag that is exactly the region subtag (extlangs have 3 letters, scripts 4, variants
 * 5 to 8, or 4 with a digit first), and in a malformed one (four extlangs, two scripts, an overlong
 * or empty subtag) it keeps a region from being hidden, so odd subtags are skipped, not fatal.
 * In a `-u-` extension the values of the `rg` and `sd` keys are subdivision ids. What follows
 * `-x-` is private use and means nothing here; `-t-` holds the source of a transformation, not a place.
 */
function readPlaces(s: string, from: number, end: number, sink: PlaceSink): void {
  let p = from;
  let part = MAIN;
  let key = NO_KEY;
  while (p < end && isSeparator(s.charCodeAt(p))) {
    const start = p + 1;
    for (p = start; p < end; p++) {
      const c = s.charCodeAt(p);
      if (!isLetter(c) && !isDigit(c)) break;
    }
    const length = p - start;
    if (length === 1) {
      const singleton = s.charCodeAt(start) | CASE_BIT;
      if (singleton === LOWER_X) return;
      part = singleton === LOWER_U ? UNICODE : OTHER_EXTENSION;
      key = NO_KEY;
    } else if (part === MAIN) {
      const code = length === 2 || length === 3 ? codeKey(s, start, length) : -1;
      if (code >= 0 && sink.add(placesOfCode(code, 'region'))) return;
    } else if (part === UNICODE) {
      if (length === 2) {
        const first = s.charCodeAt(start) | CASE_BIT;
        const second = s.charCodeAt(start + 1) | CASE_BIT;
        key = first === LOWER_R && second === LOWER_G ? KEY_RG : first === LOWER_S && second === LOWER_D ? KEY_SD : NO_KEY;
      } else if (key !== NO_KEY && length >= 3 && length <= 8) {
        const places = placesOfSubdivisionId(s, start, length, key === KEY_RG ? 'u-rg' : 'u-sd');
        if (places !== undefined && sink.add(places)) return;
      }
    }
  }
}

/** Most specific first: a subdivision, then the region override, then the region subtag. */
const SOURCE_RANK: Readonly<Record<RegionSource, number>> = { 'u-sd': 0, 'u-rg': 1, region: 2 };

/** Collects a tag's distinct places, most specific first; allocates nothing for a tag naming one code. */
class PlaceCollector implements PlaceSink {
  #first: readonly TagPlace[] = NO_PLACES;
  #seen: Set<readonly TagPlace[]> | undefined;
  #byRank: TagPlace[][] | undefined;

  add(places: readonly TagPlace[]): boolean {
    if (places.length === 0 || places === this.#first) return false;
    if (this.#first.length === 0) {
      this.#first = places;
      return false;
    }
    if (this.#seen === undefined || this.#byRank === undefined) {
      this.#seen = new Set([this.#first]);
      this.#byRank = [[], [], []];
      this.#file(this.#byRank, this.#first);
    }
    // Cached arrays repeat by identity (`aa-aa-aa…`); keeping each once keeps the list short.
    if (this.#seen.has(places)) return false;
    this.#seen.add(places);
    this.#file(this.#byRank, places);
    return false;
  }

  #file(byRank: TagPlace[][], places: readonly TagPlace[]): void {
    for (const place of places) byRank[SOURCE_RANK[place.source]]?.push(place);
  }

  places(): readonly TagPlace[] {
    return this.#byRank === undefined ? this.#first : this.#byRank.flat();
  }
}

/** The places of the tag at `s[start, end)`, most specific first; undefined when it is no tag. */
function placesOfTag(s: string, start: number, end: number): readonly TagPlace[] | undefined {
  const from = languageEnd(s, start, end);
  if (from < 0) return undefined;
  const collector = new PlaceCollector();
  readPlaces(s, from, end, collector);
  return collector.places();
}

/**
 * The place a BCP 47 tag points at, or undefined: the most specific one when it names several
 * (`-u-sd-` subdivision, then `-u-rg-` region override, then the region subtag). Accepts `_` for
 * `-`, any case and surrounding whitespace. A script (`zh-Hans`), an area (`es-419`) or private
 * use (`x-cn`) is no place; a deprecated or numeric code reads as its successor (`zh-156` -> CN).
 * @example regionOfTag('zh-cmn-Hans-CN') // { region: 'CN', source: 'region' }
 * @example regionOfTag('uk-UA-u-sd-ua43') // { region: 'UA', subdivision: 'UA-43', source: 'u-sd' }
 */
export function regionOfTag(tag: string): TagPlace | undefined {
  let a = 0;
  let b = tag.length;
  while (a < b && isSpace(tag.charCodeAt(a))) a++;
  while (b > a && isSpace(tag.charCodeAt(b - 1))) b--;
  return placesOfTag(tag, a, b)?.[0];
}

/**
 * The entries of one Accept-Language header value that count, in header order. Left out: `*`,
 * entries whose tag does not start with a language subtag (malformed, private use), and entries
 * cleanly refused with a lone well-formed `q=0`. Never throws; no cap on length or entries.
 */
export function parseAcceptLanguage(header: string): LanguagePreference[] {
  const prefs: LanguagePreference[] = [];
  scanHeader(header, (a, b, q) => {
    const places = placesOfTag(header, a, b);
    if (places === undefined) return undefined;
    const first = places[0];
    const tag = header.slice(a, b);
    prefs.push(
      first === undefined
        ? { tag, q, places }
        : first.subdivision === undefined
          ? { tag, q, region: first.region, regionSource: first.source, places }
          : { tag, q, region: first.region, subdivision: first.subdivision, regionSource: first.source, places },
    );
    return undefined;
  });
  return prefs;
}

/**
 * Looks for the first place of a header value that is restricted. Places arrays found clean are
 * remembered by identity, so a header repeating one code (or a code CLDR splits fifteen ways)
 * thousands of times costs one set lookup per repeat.
 */
class RestrictedPlaceFinder implements PlaceSink {
  /** The restricted place found, once `add` has returned true. */
  hit: TagPlace | undefined;
  readonly #countries: ReadonlySet<string>;
  readonly #regions: ReadonlySet<string>;
  readonly #clean = new Set<readonly TagPlace[]>();

  constructor(countries: ReadonlySet<string>, regions: ReadonlySet<string>) {
    this.#countries = countries;
    this.#regions = regions;
  }

  add(places: readonly TagPlace[]): boolean {
    if (this.#clean.has(places)) return false;
    for (const place of places) {
      if (this.#countries.has(place.region) || (place.subdivision !== undefined && this.#regions.has(place.subdivision))) {
        this.hit = place;
        return true;
      }
    }
    // Only cached arrays repeat; a fresh subdivision array is never seen again.
    if (places.length === 0 || places[0]?.subdivision === undefined) this.#clean.add(places);
    return false;
  }
}

const NO_HEADER = undetermined('no Accept-Language');
const NO_REGIONS: ReadonlySet<string> = new Set();
/** Longest tag echoed in a signal: the tag is the client's, and evidence travels to origins and logs. */
const SHOWN_TAG_LENGTH = 64;

/**
 * LOCALE_RESTRICTED for one request: true when any counted tag points at a restricted country,
 * or at a subdivision listed in `restrictedRegions` (`UA-43`). The first such tag in header order
 * is reported (within a tag, the first such place in tag order), with its quality and where in
 * the tag the place was named. Reads every value whole; allocates little beyond the signal.
 * @param acceptLanguage The header; an array when it was sent more than once (each value is read
 *   in full and any of them can raise the signal). Undefined or an empty array: undetermined.
 * @param restrictedCountries ISO 3166-1 alpha-2 codes, upper case.
 * @param restrictedRegions ISO 3166-2 codes (`UA-43`), upper case. Default: none.
 */
export function detectLocale(
  acceptLanguage: string | readonly string[] | undefined,
  restrictedCountries: ReadonlySet<string>,
  restrictedRegions: ReadonlySet<string> = NO_REGIONS,
): Signal {
  if (acceptLanguage === undefined) return NO_HEADER;
  if (typeof acceptLanguage === 'string') return detectInValue(acceptLanguage, restrictedCountries, restrictedRegions);
  if (acceptLanguage.length === 0) return NO_HEADER;
  for (const value of acceptLanguage) {
    const signal = detectInValue(value, restrictedCountries, restrictedRegions);
    if (signal.value === true) return signal;
  }
  return SIGNAL_FALSE;
}

/** detectLocale for one header value. */
function detectInValue(header: string, countries: ReadonlySet<string>, regions: ReadonlySet<string>): Signal {
  const finder = new RestrictedPlaceFinder(countries, regions);
  const hit = scanHeader(header, (a, b, q): Signal | undefined => {
    const from = languageEnd(header, a, b);
    if (from < 0) return undefined;
    readPlaces(header, from, b, finder);
    const place = finder.hit;
    if (place === undefined) return undefined;
    const tag = b - a > SHOWN_TAG_LENGTH ? `${header.slice(a, a + SHOWN_TAG_LENGTH)}…` : header.slice(a, b);
    const byCountry = countries.has(place.region);
    const where = byCountry ? `restricted country ${place.region}` : `restricted region ${place.subdivision} (${place.region})`;
    return {
      value: true,
      message: `The browser asks for ${JSON.stringify(tag)} (q=${q}), a locale of ${where}.`,
      evidence:
        place.subdivision === undefined
          ? { tag, country: place.region, q, source: place.source }
          : { tag, country: place.region, subdivision: place.subdivision, q, source: place.source },
    };
  });
  return hit ?? SIGNAL_FALSE;
}
