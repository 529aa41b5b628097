// A throwaway Worker for the account-memory benchmark (bench/memory.mjs): stand-ins for the
// AccountActivity and OrgActivity objects that answer every record() at once with a summary the
// bench seeded, and store nothing. A geogate Worker whose ACCOUNT_ACTIVITY and ORG_ACTIVITY point
// here pays everything an async check with an account pays in its own isolate (the account
// field, the cache, the observation, the two RPC calls, judging the summary) while the objects'
// own work (SQLite, HMAC) costs next to nothing: what is left of the added time is the check's.
//
// POST /seed { account, org }: the summaries to answer, as the real objects gave them (the bench
// reads them through GET /v1/accounts/{id}/activity and /v1/orgs/{id}/activity). The objects run
// in this script's isolate, so they see the module state /seed set; before any seed they throw.
/* global Response */
import { DurableObject } from 'cloudflare:workers';

/** The seeded summaries. */
let seeded;

function answer(kind) {
  if (seeded?.[kind] === undefined) throw new Error(`memory stub: no ${kind} summary seeded`);
  return seeded[kind];
}

export class AccountActivity extends DurableObject {
  async record() {
    return answer('account');
  }
}

export class OrgActivity extends DurableObject {
  async record() {
    return answer('org');
  }
}

export default {
  async fetch(request) {
    if (request.method === 'POST' && new URL(request.url).pathname === '/seed') {
      seeded = await request.json();
      return Response.json({ ok: seeded?.account?.kind === 'account' && seeded?.org?.kind === 'org' });
    }
    return new Response('memory stub', { status: 404 });
  },
};
