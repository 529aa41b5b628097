/* global Response */
// The caller Worker of bench/rpc.mjs: a customer's Worker holding a service binding (GEOGATE) to
// geogate's AccessCheck entrypoint. Every request makes exactly one RPC call, so that the only
// difference between its routes is the method called:
//   GET /ping?i=N  -> GEOGATE.ping(CASES[N])    (an RPC round trip, same argument, that does nothing)
//   GET /check?i=N -> GEOGATE.check(CASES[N])   (the check; CASES is a JSON binding, parsed once)
//   GET /quiet?i=N -> GEOGATE_QUIET.check(CASES[N]) (the same Worker under a policy whose
//                     decisionLog.sampleRate is 0: the check without its decision log line)
// Both answer a short text body, so the HTTP side of the two costs the same.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const input = env.CASES[Number(url.searchParams.get('i') ?? 0)];
    if (input === undefined) return new Response('no such case', { status: 404 });
    if (url.pathname === '/ping') return new Response(await env.GEOGATE.ping(input));
    if (url.pathname === '/check' || url.pathname === '/quiet') {
      const answer = await (url.pathname === '/check' ? env.GEOGATE : env.GEOGATE_QUIET).check(input);
      // Enough to verify a real decision from the KV policy, without echoing the whole body.
      return new Response('error' in answer ? `error ${answer.error.code}` : `${answer.decision} ${answer.policySource}`);
    }
    return new Response('not found', { status: 404 });
  },
};
