// Network intelligence: which networks are VPN exits or datacenters, from the IP alone (the
// X4B lists' ~62k CIDR blocks) or from the ASN (with the provider's note, e.g. "M247, GB
// (NordVPN)"). One immutable, versioned artifact: built offline by `npm run intel:build`
// (src/intel/build.ts), stored in KV and cached per isolate (src/store/intel-store.ts), with a
// copy bundled in the script as the floor it can never fall below. The engine only ever sees it
// decoded: a PrefixTable (nested blocks flattened, one binary search a lookup) and a sorted ASN
// table. Pure: decoding checks every field, so a corrupt artifact is refused, never half-used.
// Format documented in docs/storage-schema.md ("Network intel").
import { base64ToBytes, base64ToHalves, base64ToWords, bytesToBase64, halvesToBase64, wordsToBase64 } from './base64';
import { BUNDLED_INTEL_TEXT } from './data/network-intel';
import { PrefixTable, type CidrMatch, type IpMatchMode, type ParsedIp, type PrefixRanges } from './ip';

/** Version of the artifact format; an isolate refuses another. */
export const INTEL_SCHEMA = 1;

/** The categories the intel classifies networks into, in the artifact's order. */
export const INTEL_CATEGORIES = ['vpn', 'datacenter'] as const;

/** A network category of the intel. */
export type IntelCategory = (typeof INTEL_CATEGORIES)[number];

/** Where the intel's data came from (shown in /healthz and the admin API). */
export interface IntelSource {
  /** The upstream repository, e.g. "X4BNet/lists_vpn". */
  readonly repository: string;
  /** The upstream commit the lists were copied from. */
  readonly commit: string;
  /** The date of that commit (YYYY-MM-DD). */
  readonly date: string;
  /** The upstream licence (SPDX id); its notice ships in data/network-intel/x4b-LICENSE. */
  readonly license: string;
}

/** The intel's ASN table: sorted numbers, a category bitmask each, and a note index each. */
export interface IntelAsns {
  /** Strictly increasing ASNs. */
  readonly numbers: Uint32Array;
  /** Bit c set: the ASN is in category c of {@link INTEL_CATEGORIES}. Never 0. */
  readonly categories: Uint8Array;
  /** 0: no note; n: the note `notes[n - 1]`. */
  readonly notes: Uint16Array;
}

/** Longest provider note kept, in characters. */
export const MAX_NOTE_LENGTH = 200;

/** The version label's form: it is sent in a response header. */
const VERSION = /^[\x21-\x7e](?:[\x20-\x7e]{0,62}[\x21-\x7e])?$/;

/** Index of a category in the artifact (and bit in the ASN bitmask). */
export function categoryIndex(category: IntelCategory): number {
  return category === 'vpn' ? 0 : 1;
}

/** Decoded network intel: answers "is this IP / ASN a VPN or a datacenter, per which block". */
export class NetworkIntel {
  readonly #asns: IntelAsns;
  readonly #notes: readonly string[];

  /**
   * @param version Label reported with every decision (e.g. "x4b-2026-08-22-167937a").
   * @param ranges CIDR blocks, one category each of {@link INTEL_CATEGORIES}, flattened.
   */
  constructor(
    readonly version: string,
    readonly source: IntelSource,
    readonly ranges: PrefixTable,
    asns: IntelAsns,
    notes: readonly string[],
  ) {
    this.#asns = asns;
    this.#notes = notes;
  }

  /** The longest block of `category` holding `ip` (or, with 'with-embedded', an IPv4 it embeds). */
  matchIp(ip: ParsedIp, category: IntelCategory, mode: IpMatchMode): CidrMatch | undefined {
    return this.ranges.match(ip, mode, categoryIndex(category));
  }

  /** Index of `asn` in the ASN table, or -1. */
  #asnAt(asn: number): number {
    const a = this.#asns.numbers;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid] ?? 0;
      if (v === asn) return mid;
      if (v < asn) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Whether `asn` is listed in `category`. */
  asnIn(asn: number, category: IntelCategory): boolean {
    const at = this.#asnAt(asn);
    return at >= 0 && ((this.#asns.categories[at] ?? 0) & (1 << categoryIndex(category))) !== 0;
  }

  /** The provider note the lists give for `asn` (e.g. "M247, GB (NordVPN)"), if any. */
  asnNote(asn: number): string | undefined {
    const at = this.#asnAt(asn);
    const n = at < 0 ? 0 : (this.#asns.notes[at] ?? 0);
    return n === 0 ? undefined : this.#notes[n - 1];
  }

  /** Sizes, for /healthz, the admin API and the benchmark. */
  get stats(): IntelStats {
    const asns = this.#asns;
    return {
      blocks: this.ranges.size,
      intervals: this.ranges.intervals,
      asns: asns.numbers.length,
      notes: this.#notes.length,
      bytes: this.ranges.byteLength + asns.numbers.byteLength + asns.categories.byteLength + asns.notes.byteLength,
    };
  }

  /**
   * What each category covers: its distinct IPv4 and IPv6 blocks, and its ASNs. The admin store compares these with the intel in force, category by category, so that
   * a build whose VPN lists came out empty cannot pass for a smaller update.
   */
  coverage(): Readonly<Record<IntelCategory, CategoryCoverage>> {
    const out = {} as Record<IntelCategory, CategoryCoverage>;
    for (const category of INTEL_CATEGORIES) {
      const bit = 1 << categoryIndex(category);
      let asns = 0;
      for (const c of this.#asns.categories) if ((c & bit) !== 0) asns++;
      out[category] = { ...this.ranges.blocks(categoryIndex(category)), asns };
    }
    return out;
  }

  /** The artifact's ASN table and notes (for encoding). */
  get asnTable(): { readonly asns: IntelAsns; readonly notes: readonly string[] } {
    return { asns: this.#asns, notes: this.#notes };
  }
}

/** What one category of the intel covers (see {@link NetworkIntel.coverage}). */
export interface CategoryCoverage {
  /** Distinct IPv4 blocks of the category (see PrefixTable.blocks). */
  readonly v4: number;
  /** Distinct IPv6 blocks of the category. */
  readonly v6: number;
  readonly asns: number;
}

/** Sizes of a loaded intel. */
export interface IntelStats {
  /** CIDR blocks the intel was built from. */
  readonly blocks: number;
  /** Disjoint intervals a lookup searches (IPv4 and IPv6). */
  readonly intervals: number;
  readonly asns: number;
  readonly notes: number;
  /** Bytes of the lookup tables. */
  readonly bytes: number;
}

// --- the artifact's text ------------------------------------------------------------------------

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const encodeRanges = (r: PrefixRanges) => ({ starts: wordsToBase64(r.starts), ends: wordsToBase64(r.ends), bits: r.bits.map(bytesToBase64) });

/** The artifact text of `intel` (deterministic: the same intel always gives the same text). */
export function encodeIntel(intel: NetworkIntel): string {
  const { asns, notes } = intel.asnTable;
  const d = intel.ranges.toData();
  return JSON.stringify({
    geogate: 'intel',
    schema: INTEL_SCHEMA,
    version: intel.version,
    source: intel.source,
    categories: INTEL_CATEGORIES,
    notes,
    asns: { numbers: wordsToBase64(asns.numbers), categories: bytesToBase64(asns.categories), notes: halvesToBase64(asns.notes) },
    ranges: { size: d.size, v4: encodeRanges(d.v4), v6: encodeRanges(d.v6) },
  });
}

/** What {@link decodeIntel} produces. */
export type IntelDecodeResult = { readonly ok: true; readonly intel: NetworkIntel } | { readonly ok: false; readonly message: string };

const fail = (message: string): IntelDecodeResult => ({ ok: false, message });

function decodeRanges(x: unknown): PrefixRanges | undefined {
  if (!isRecord(x) || !Array.isArray(x.bits)) return undefined;
  const starts = base64ToWords(x.starts);
  const ends = base64ToWords(x.ends);
  const bits: Uint8Array[] = [];
  for (const b of x.bits) {
    const bytes = base64ToBytes(b);
    if (!bytes) return undefined;
    bits.push(bytes);
  }
  return starts && ends ? { starts, ends, bits } : undefined;
}

function decodeSource(x: unknown): IntelSource | undefined {
  if (!isRecord(x)) return undefined;
  const field = (k: string) => (typeof x[k] === 'string' && (x[k]).length <= 200 ? (x[k]) : undefined);
  const repository = field('repository');
  const commit = field('commit');
  const date = field('date');
  const license = field('license');
  // The date is compared with the intel in force's (an older intel is refused): a real date only.
  const dated = date !== undefined && /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(date);
  return repository !== undefined && commit !== undefined && dated && license !== undefined ? { repository, commit, date, license } : undefined;
}

/**
 * Decodes and checks an artifact's text (integrity against its id is the caller's: see
 * src/store/intel-store.ts). Every field is checked: the format version, the categories, the
 * ASN table (sorted, known categories, notes in range) and the CIDR intervals (sorted, disjoint,
 * inside the blocks they name). O(n), no CIDR text parsed.
 */
export function decodeIntel(text: string): IntelDecodeResult {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return fail('the intel artifact is not valid JSON (truncated?)');
  }
  if (!isRecord(v) || v.geogate !== 'intel') return fail('not a geogate intel artifact');
  if (v.schema !== INTEL_SCHEMA) return fail(`intel format ${String(v.schema)} is not ${INTEL_SCHEMA} (deploy the code that wrote it)`);
  if (typeof v.version !== 'string' || !VERSION.test(v.version)) return fail('the intel version is not 1-64 printable ASCII characters');
  const source = decodeSource(v.source);
  if (!source) return fail('the intel source is malformed');
  const categories = v.categories;
  if (!Array.isArray(categories) || categories.length !== INTEL_CATEGORIES.length || !INTEL_CATEGORIES.every((c, i) => categories[i] === c)) {
    return fail(`the intel categories are not ${INTEL_CATEGORIES.join(', ')}`);
  }
  const notes = v.notes;
  if (!Array.isArray(notes) || notes.length > 0xfffe || !notes.every((n) => typeof n === 'string' && n.length >= 1 && n.length <= MAX_NOTE_LENGTH)) {
    return fail('the intel notes are malformed');
  }
  if (!isRecord(v.asns)) return fail('the intel has no ASN table');
  const numbers = base64ToWords(v.asns.numbers);
  const asnCategories = base64ToBytes(v.asns.categories);
  const noteAt = base64ToHalves(v.asns.notes);
  if (!numbers || !asnCategories || !noteAt || asnCategories.length !== numbers.length || noteAt.length !== numbers.length) return fail('the intel ASN table is malformed');
  const allCategories = (1 << INTEL_CATEGORIES.length) - 1;
  for (let i = 0; i < numbers.length; i++) {
    const c = asnCategories[i] ?? 0;
    if ((i > 0 && (numbers[i] ?? 0) <= (numbers[i - 1] ?? 0)) || c === 0 || (c & ~allCategories) !== 0 || (noteAt[i] ?? 0) > notes.length) {
      return fail('the intel ASN table is malformed');
    }
  }
  if (!isRecord(v.ranges)) return fail('the intel has no CIDR table');
  const v4 = decodeRanges(v.ranges.v4);
  const v6 = decodeRanges(v.ranges.v6);
  const size = v.ranges.size;
  if (!v4 || !v6 || typeof size !== 'number' || v4.bits.length !== INTEL_CATEGORIES.length) return fail('the intel CIDR table is malformed');
  const ranges = PrefixTable.fromData({ size, v4, v6 });
  if (!ranges) return fail('the intel CIDR table is malformed');
  return { ok: true, intel: new NetworkIntel(v.version, source, ranges, { numbers, categories: asnCategories, notes: noteAt }, notes as string[]) };
}

let bundled: NetworkIntel | undefined;

/**
 * The intel bundled with this deployment (generated by `npm run intel:build` into
 * src/engine/data/network-intel.ts), decoded on first use: what answers until an isolate has
 * loaded the intel in KV, and when no stored intel is usable. Never absent: `npm run lint`
 * checks that the bundled text decodes and matches a rebuild of data/network-intel.
 */
export function bundledIntel(): NetworkIntel {
  if (bundled === undefined) {
    const r = decodeIntel(BUNDLED_INTEL_TEXT);
    if (!r.ok) throw new Error(`the bundled network intel is unusable: ${r.message}`);
    bundled = r.intel;
  }
  return bundled;
}
