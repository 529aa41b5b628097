// The two ends of a proxied request in the proxy tests: the sample origin (the app behind the
// proxy, which echoes and records what reached it) and a plain HTTP client that sends exactly the
// headers it is given (a user, or Cloudflare in front of the proxy).
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request that reached the origin. */
export interface OriginHit {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** The sample origin: answers 200 with the headers it received, as JSON, and records every request. */
export interface EchoOrigin {
  readonly port: number;
  readonly hits: OriginHit[];
  stop(): Promise<void>;
}

/** Starts the sample origin on a free loopback port. */
export async function startEchoOrigin(): Promise<EchoOrigin> {
  const hits: OriginHit[] = [];
  const server: Server = createServer((req, res) => {
    const hit = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    hits.push(hit);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'x-sample-origin': 'yes' });
    res.end(JSON.stringify(hit));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the origin has no port');
  let stopped: Promise<void> | undefined;
  return {
    port: address.port,
    hits,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

/** What came back. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Options of {@link send}. */
export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Bound on the whole exchange (default 10 s). */
  readonly timeoutMs?: number;
}

/** Sends one request with exactly these headers (no fetch defaults, no redirects followed). */
export function send(url: string, options: SendOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: { connection: 'close', ...options.headers }, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url}: no answer within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The answer's body as JSON, with the body in the message when it is not JSON. */
export function jsonOf<T>(answer: Answer): T {
  try {
    return JSON.parse(answer.body) as T;
  } catch {
    throw new Error(`not JSON (status ${answer.status}): ${answer.body.slice(0, 500)}`);
  }
}
