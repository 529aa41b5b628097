// A small client of the admin API (GET/PUT /v1/policy, versions, rollback, lists): bearer token,
// JSON bodies, ETag preconditions, and the API's error shape turned into CliErrors with the exit
// code the CLI documents (3 for HTTP and network failures, 1 when the server rejects the content).
import { CliError, EXIT, type CliIo } from './io';

/** Default base URL: `npm start` (wrangler dev). */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8787';
/** Environment variable the token is read from unless --token-env names another. */
export const DEFAULT_TOKEN_ENV = 'GEOGATE_ADMIN_TOKEN';

/** One issue of an API error (`{ path, message }`). */
export interface ApiIssue {
  path: string;
  message: string;
}

/** An answer of the admin API. */
export interface ApiResponse<T = unknown> {
  status: number;
  /** The ETag header's value without quotes, when present. */
  etag: string | undefined;
  body: T;
}

/** Options of {@link AdminClient}. */
export interface AdminClientOptions {
  /** Base URL, e.g. `http://127.0.0.1:8787` (a trailing slash is ignored). */
  url: string;
  /** The admin bearer token. */
  token: string;
  fetch: CliIo['fetch'];
}

/** Codes whose 400 means "the content you sent is invalid" (exit 1), not a transport problem. */
const CONTENT_ERRORS = new Set(['INVALID_POLICY', 'INVALID_REQUEST', 'INVALID_LIST', 'INVALID_INTEL']);

/** Strips the quotes (and a weak marker) of an ETag header value. */
export function unquoteEtag(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** The admin API over fetch. */
export class AdminClient {
  private readonly base: string;

  constructor(private readonly options: AdminClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /**
   * Sends one request. Resolves for 2xx and for the statuses in `accept`; anything else becomes a
   * CliError carrying the API's code, message and issues.
   */
  async call<T = unknown>(method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; accept?: number[] } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.token}`, accept: 'application/json', ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    }
    const url = `${this.base}${path}`;
    let res: Response;
    try {
      res = await this.options.fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      throw new CliError(EXIT.HTTP, `cannot reach ${url}: ${e instanceof Error ? e.message : String(e)}${cause}`);
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const ok = (res.status >= 200 && res.status < 300) || (init.accept ?? []).includes(res.status);
    if (!ok) throw apiError(method, url, res.status, json, text);
    if (json === undefined && text !== '') throw new CliError(EXIT.HTTP, `${method} ${url}: ${res.status} with a body that is not JSON`);
    return { status: res.status, etag: unquoteEtag(res.headers.get('etag')), body: json as T };
  }
}

function apiError(method: string, url: string, status: number, json: unknown, text: string): CliError {
  const error = typeof json === 'object' && json !== null ? (json as { error?: { code?: unknown; message?: unknown; issues?: unknown; etag?: unknown } }).error : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message : text.slice(0, 200) || '(empty body)';
  const lines = [`${method} ${url}: ${status}${code ? ` ${code}` : ''}: ${message}`];
  const issues = Array.isArray(error?.issues) ? (error.issues as ApiIssue[]) : [];
  for (const i of issues) lines.push(`  ${String(i.path) || '(root)'}: ${String(i.message)}`);
  if (status === 401 || status === 403) lines.push('  (check the admin token: --token-env names the variable that holds it)');
  if (status === 412) lines.push('  (someone changed it since it was read: read it again and retry)');
  const exit = status === 400 && code !== undefined && CONTENT_ERRORS.has(code) ? EXIT.INVALID : EXIT.HTTP;
  return new CliError(exit, lines.join('\n'));
}
