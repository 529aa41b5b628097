// A customer's Worker in front of its users, asking geogate over a service binding (Workers RPC).
// The README's "Integrate" section shows the region below; test/integration/readme-examples.test.ts
// runs this Worker against the real AccessCheck entrypoint and checks the README still matches.
import type { AccessCheck } from 'geogate/rpc';

// #region readme
export default {
  async fetch(request: Request, env: { GEOGATE: Service<AccessCheck> }): Promise<Response> {
    const answer = await env.GEOGATE.check({
      ip: request.headers.get('CF-Connecting-IP') ?? undefined, // this Worker fronts the user
      geo: { country: request.cf?.country as string | undefined, timezone: request.cf?.timezone as string | undefined },
      client: { timezone: request.headers.get('Geogate-Client-Timezone') ?? undefined },
      surface: 'api',
    });
    if ('error' in answer) throw new Error(answer.error.message); // a bug in this Worker's input
    if (answer.decision !== 'allow') return Response.json({ decision: answer.decision }, { status: 403 });
    return new Response('hello from the origin');
  },
};
// #endregion
