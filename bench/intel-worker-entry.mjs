// A throwaway Worker that esbuild bundles for the network-intel benchmark, to time in workerd, on
// a fresh isolate, each step of loading the intel from KV on its own (src/store/intel-store.ts
// runs them in this order, with the same functions): the bounded KV read of the artifact
// (kvTextStore: a stream, then UTF-8 decoding), its SHA-256 check, decodeIntel. Timed
// from outside (workerd's clocks do not move while a request computes): GET /noop is the
// dispatch cost; /read, /hash and /decode each do one step on the text /read kept.
/* global Response */
import { BUNDLED_INTEL_ID } from '../src/engine/data/network-intel';
import { decodeIntel } from '../src/engine/intel';
import { intelKey } from '../src/policy/keys';
import { sha256Hex } from '../src/policy/snapshot';
import { MAX_INTEL_BYTES } from '../src/store/intel-store';
import { kvTextStore } from '../src/store/text-store';

/** The artifact text /read got from KV. */
let text;

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === '/read') {
      const read = await kvTextStore(env.POLICY).read(intelKey(BUNDLED_INTEL_ID), MAX_INTEL_BYTES);
      text = read.kind === 'text' ? read.text : undefined;
      return Response.json({ ok: text !== undefined });
    }
    if (path === '/hash') return Response.json({ ok: (await sha256Hex(text)) === BUNDLED_INTEL_ID });
    if (path === '/decode') {
      const r = decodeIntel(text);
      return Response.json({ ok: r.ok && r.intel.stats.intervals > 0 });
    }
    return Response.json({ ok: true });
  },
};
