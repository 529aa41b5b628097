// A stand-in for geogate on 127.0.0.1 (node:http) for the client's Node tests: each test says how
// it answers, and every request it received is kept for the test to read.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DecisionBody } from '../../client/client';

/** A request the stub received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** How the stub answers one request (the n-th it has received, from 1); answer nothing to hang. */
export type Handler = (req: Received, res: ServerResponse, n: number) => void;

/** A running stub. */
export interface Stub {
  /** `http://127.0.0.1:<port>` */
  url: string;
  received: Received[];
  /** Replaced by each test. */
  handler: Handler;
  close(): Promise<void>;
}

/** Starts a stub that answers `handler` (default: an allow decision). */
export async function startStub(handler: Handler = (_req, res) => json(res, 200, decisionBody())): Promise<Stub> {
  const received: Received[] = [];
  const stub: Stub = { url: '', received, handler, close: () => Promise.resolve() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      stub.handler(r, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      // Hung requests keep their sockets open: cut them, or close() waits for ever.
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** A port nothing listens on: a stub started and closed again. */
export async function refusedUrl(): Promise<string> {
  const stub = await startStub();
  await stub.close();
  return stub.url;
}

/** Writes a JSON answer. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A decision body as geogate answers it (an allow from the default policy unless overridden). */
export function decisionBody(overrides: Partial<DecisionBody> = {}): DecisionBody {
  const decision = overrides.decision ?? 'allow';
  return {
    decision,
    summary: `${decision}: stub`,
    reasons: [],
    score: 0,
    failed: false,
    policyVersion: 'stub-1',
    policySource: 'kv',
    snapshot: 'stub-snapshot',
    requestId: 'stub',
    evaluatedAt: '2026-11-26T12:00:00.000Z',
    geoSource: 'forwarded',
    signals: {} as DecisionBody['signals'],
    intel: { version: 'intel-1', source: 'kv', id: 'intel-id', failed: false },
    memory: { mode: 'async', account: 'none', org: 'none' },
    ...overrides,
  };
}

/** Answers each request with a decision body echoing the request id it was sent. */
export function echoDecision(overrides: Partial<DecisionBody> = {}): Handler {
  return (req, res) => {
    const sent = JSON.parse(req.body) as { requestId: string };
    json(res, 200, decisionBody({ ...overrides, requestId: sent.requestId }));
  };
}
