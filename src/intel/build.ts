// Raw network lists -> the intel artifact (src/engine/intel.ts), for `npm run intel:build`
// (scripts/build-intel.mjs) and tests. Pure and deterministic: the same lists always give the same
// text, so the generated module's diff shows exactly what an update changed.
// - ASN lists: one `AS<number>` a line, an optional `# note` after it (the provider, e.g.
//   "M247, GB (NordVPN)"). An ASN on several lists is in each of their categories; its note is the
//   first category's that has one (VPN before datacenter).
// - CIDR lists: one block a line. Blocks of both categories are flattened together into disjoint
//   intervals labelled with the longest block of each category (src/engine/ip.ts, PrefixTable).
// Comment (`#`) and blank lines are skipped; any other line that does not parse fails the build.
import { INTEL_CATEGORIES, MAX_NOTE_LENGTH, NetworkIntel, categoryIndex, type IntelCategory, type IntelSource } from '../engine/intel';
import { PrefixTable } from '../engine/ip';

/** The raw lists of one build: the text of each file, by category. */
export interface RawIntel {
  readonly version: string;
  readonly source: IntelSource;
  /** Text of each category's ASN list. */
  readonly asns: Readonly<Record<IntelCategory, string>>;
  /** Texts of each category's CIDR lists (e.g. the IPv4 and the IPv6 file). */
  readonly cidrs: Readonly<Record<IntelCategory, readonly string[]>>;
}

/** A line that does not parse: which list, which line (1-based), and the text. */
export interface BuildProblem {
  readonly list: string;
  readonly line: number;
  readonly text: string;
}

/** What {@link buildIntel} produces. */
export type BuildIntelResult = { readonly ok: true; readonly intel: NetworkIntel } | { readonly ok: false; readonly problems: readonly BuildProblem[] };

/** The meaningful lines of a list file: 1-based line numbers, comments and blanks dropped. */
function entries(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim();
    if (t !== '' && !t.startsWith('#')) out.push({ line: i + 1, text: t });
  });
  return out;
}

const ASN_LINE = /^AS(\d{1,10})(?:\s*#\s*(.*))?$/i;

/** A note as stored: whitespace collapsed, at most MAX_NOTE_LENGTH characters; undefined when empty. */
function cleanNote(note: string | undefined): string | undefined {
  const t = (note ?? '').replace(/\s+/g, ' ').trim();
  return t === '' ? undefined : t.slice(0, MAX_NOTE_LENGTH);
}

/** Builds the intel from raw lists; every unparsable line is reported. */
export function buildIntel(raw: RawIntel): BuildIntelResult {
  const problems: BuildProblem[] = [];
  const asnCats = new Map<number, number>();
  const asnNote = new Map<number, string>();
  for (const category of INTEL_CATEGORIES) {
    for (const e of entries(raw.asns[category])) {
      const m = ASN_LINE.exec(e.text);
      const asn = m ? Number(m[1]) : NaN;
      if (!m || !Number.isInteger(asn) || asn > 4_294_967_295) {
        problems.push({ list: `${category} ASNs`, line: e.line, text: e.text });
        continue;
      }
      asnCats.set(asn, (asnCats.get(asn) ?? 0) | (1 << categoryIndex(category)));
      const note = cleanNote(m[2]);
      if (note !== undefined && !asnNote.has(asn)) asnNote.set(asn, note);
    }
  }
  const lists: string[][] = INTEL_CATEGORIES.map(() => []);
  const where: { list: string; line: number }[][] = INTEL_CATEGORIES.map(() => []);
  for (const category of INTEL_CATEGORIES) {
    raw.cidrs[category].forEach((text, file) => {
      for (const e of entries(text)) {
        lists[categoryIndex(category)]?.push(e.text);
        where[categoryIndex(category)]?.push({ list: `${category} CIDRs (file ${file + 1})`, line: e.line });
      }
    });
  }
  const table = PrefixTable.tryFrom(lists);
  if (!table.ok) {
    for (const bad of table.invalid) {
      const w = where[bad.list]?.[bad.index];
      problems.push({ list: w?.list ?? `list ${bad.list}`, line: w?.line ?? 0, text: lists[bad.list]?.[bad.index] ?? '' });
    }
  }
  if (problems.length > 0 || !table.ok) return { ok: false, problems };

  const numbers = Uint32Array.from([...asnCats.keys()].sort((a, b) => a - b));
  const notes: string[] = [];
  const noteIndex = new Map<string, number>();
  const categories = new Uint8Array(numbers.length);
  const noteAt = new Uint16Array(numbers.length);
  numbers.forEach((asn, i) => {
    categories[i] = asnCats.get(asn) ?? 0;
    const note = asnNote.get(asn);
    if (note === undefined) return;
    let n = noteIndex.get(note);
    if (n === undefined) {
      notes.push(note);
      n = notes.length;
      noteIndex.set(note, n);
    }
    noteAt[i] = n;
  });
  return { ok: true, intel: new NetworkIntel(raw.version, raw.source, table.table, { numbers, categories, notes: noteAt }, notes) };
}
