// An origin server (Node 20+, Bun, Deno) asking geogate over HTTP with geogate/client. The README's
// "Integrate" section shows the region below; test/integration/readme-examples.test.ts runs it
// against the real Worker (its fetch routed to SELF) and checks the README still matches.
import { GeogateClient } from 'geogate/client';

/** What the origin knows about one end-user request. */
export interface Visitor {
  ip: string;
  country: string;
  claimedZone?: string | undefined;
  userId?: string | undefined;
}

export function makeGate(baseUrl: string, token: string) {
  // #region readme
  const geogate = new GeogateClient({ baseUrl, token, timeoutMs: 800, failMode: 'closed', cache: { ttlMs: 5_000 } });

  return async function allowed(visitor: Visitor): Promise<boolean> {
    const result = await geogate.check({
      ip: visitor.ip, // the END USER's address and country, never the origin server's
      geo: { country: visitor.country },
      client: { timezone: visitor.claimedZone },
      account: { id: visitor.userId },
    });
    if (result.source === 'fail-mode') console.warn('geogate unreachable:', result.error.message);
    return result.decision === 'allow';
  };
  // #endregion
}
