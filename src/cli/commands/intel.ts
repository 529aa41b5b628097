// `geogate intel push|status`: publish the network intel artifact through the admin API
// (PUT /v1/intel), so that isolates pick it up within a minute without a deploy. The artifact is
// the one bundled with this checkout (`npm run intel:build` writes it), or a file given with
// --file; it is checked locally first, exactly as the server and the isolates will check it.
import { BUNDLED_INTEL_TEXT } from '../../engine/data/network-intel';
import { decodeIntel } from '../../engine/intel';
import { printJson, type CliContext } from '../context';
import { CliError, EXIT } from '../io';
import { readTextFile } from '../policy-file';
import { adminClient, type AdminOptions } from './admin';

/** What GET and PUT /v1/intel answer. */
interface IntelView {
  version?: string;
  artifact?: string;
  etag?: string;
  storedAt?: string;
  storedBy?: string;
  blocks?: number;
  intervals?: number;
  asns?: number;
  changed?: boolean;
}

/** Flags of `intel push`. */
export interface IntelPushOptions extends AdminOptions {
  file?: string;
  /** Publish even when the artifact covers less than half of the intel in force in some category. */
  allowShrink?: boolean;
  /** Publish even when the artifact comes from older upstream data than the intel in force. */
  allowOlder?: boolean;
}

/** `intel push [--file F]`: check the artifact locally, read the current ETag, PUT with a precondition. */
export async function intelPushCommand(ctx: CliContext, o: IntelPushOptions): Promise<number> {
  const text = o.file ? await readTextFile(ctx.io, o.file) : BUNDLED_INTEL_TEXT;
  const decoded = decodeIntel(text);
  if (!decoded.ok) throw new CliError(EXIT.INVALID, `${o.file ?? 'the bundled intel'} is not a usable intel artifact: ${decoded.message}`);
  const client = adminClient(ctx, o);
  const current = await client.call<IntelView>('GET', '/v1/intel', { accept: [404] });
  const etag = current.etag ?? current.body.etag;
  const headers: Record<string, string> = current.status === 404 ? { 'if-none-match': '*' } : etag ? { 'if-match': `"${etag}"` } : {};
  if (current.status !== 404 && !etag) throw new CliError(EXIT.HTTP, 'the server sent no ETag for the current intel: cannot write safely');
  const query = [o.allowShrink ? 'allowShrink=true' : '', o.allowOlder ? 'allowOlder=true' : ''].filter((q) => q !== '').join('&');
  const res = await client.call<IntelView>('PUT', query ? `/v1/intel?${query}` : '/v1/intel', { body: text, headers });
  if (o.json) {
    printJson(ctx, res.body);
    return EXIT.OK;
  }
  const v = res.body;
  const what = v.changed === false ? 'already in force' : current.status === 404 ? 'pushed (the first intel; it replaces the bundled copy)' : `pushed over ${current.body.version ?? '?'}`;
  ctx.out(`${ctx.paint('green', `intel ${v.version ?? decoded.intel.version}`)}: ${what}`);
  ctx.out(`  artifact ${v.artifact ?? '?'}, ${v.blocks ?? '?'} blocks in ${v.intervals ?? '?'} intervals, ${v.asns ?? '?'} ASNs; isolates load it within a minute`);
  return EXIT.OK;
}

/** `intel status`: the intel in `intel:active` (404: none pushed, the bundled copy answers). */
export async function intelStatusCommand(ctx: CliContext, o: AdminOptions): Promise<number> {
  const client = adminClient(ctx, o);
  const res = await client.call<IntelView>('GET', '/v1/intel', { accept: [404] });
  if (o.json) {
    printJson(ctx, res.status === 404 ? { pushed: false } : res.body);
    return EXIT.OK;
  }
  if (res.status === 404) {
    ctx.out('no intel pushed: decisions use the intel bundled with the deployment (npm run intel:push)');
    return EXIT.OK;
  }
  const v = res.body;
  ctx.out(`intel ${v.version ?? '?'} (artifact ${v.artifact ?? '?'}), stored ${v.storedAt ?? '?'} by ${v.storedBy ?? '?'}`);
  ctx.out(`  ${v.blocks ?? '?'} blocks in ${v.intervals ?? '?'} intervals, ${v.asns ?? '?'} ASNs`);
  return EXIT.OK;
}
