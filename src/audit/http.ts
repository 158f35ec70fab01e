// The audit's network edge: GETs over node:http/https with one keep-alive agent per site, TLS
// verified (system CAs plus audit.ca_file), a few redirects within the site's own origin (scheme,
// host and port of its `url`; any other is refused unfetched), a body cap, and every request bound
// to the site's deadline signal. Bodies are hashed as they stream in; no message here quotes one.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

export const MAX_REDIRECTS = 5;
/** A redirect's own body is never used: read (and dropped) up to this, past it the socket is closed. */
const MAX_REDIRECT_BODY = 64 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: string;
  /** Bytes read (all of the body, unless `overCap`). */
  size: number;
  /** SHA-256 of the body, lower-case hex (of what was read). */
  sha256: string;
  /** The body, when `keepBody` was asked. */
  body?: Buffer;
  /** The body went past `maxBytes`; the request was cut there. */
  overCap: boolean;
}

/** A request that got no usable answer: the site is unreachable from here, for `reason`. */
export class FetchFailure extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'tls' | 'network' | 'redirect',
  ) {
    super(message);
    this.name = 'FetchFailure';
  }
}

export interface SiteClientOptions {
  /** The difusor's `url`: redirects are followed only within its origin (scheme, host, port). */
  siteUrl: string;
  /** PEM of extra CAs (audit.ca_file), trusted besides the system's. */
  extraCa?: Buffer;
  /** Sockets (and so requests) to this site at once. */
  maxSockets: number;
  /** Aborted at the site's deadline: every request in flight ends at once. */
  signal: AbortSignal;
  /** The deadline, for messages. */
  timeoutS: number;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** One site's connections: keep-alive sockets reused for every file, closed by `close()`. */
export class SiteClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** `scheme://host:port` of the site's url: the only origin requests go to. */
  private readonly origin: string;

  constructor(private readonly options: SiteClientOptions) {
    this.origin = new URL(options.siteUrl).origin;
    const common = { keepAlive: true, maxSockets: options.maxSockets, maxFreeSockets: options.maxSockets };
    this.httpAgent = new http.Agent(common);
    this.httpsAgent = new https.Agent({
      ...common,
      ...(options.extraCa ? { ca: [...rootCertificates, options.extraCa.toString('utf8')] } : {}),
    });
  }

  /**
   * GET `url`, following up to MAX_REDIRECTS redirects that stay within the site's origin. A redirect
   * anywhere else is refused before anything is sent there; its message names the status and the
   * target's origin only (never its path or query, which the server chose).
   */
  async get(url: string, options: { maxBytes: number; keepBody?: boolean }): Promise<HttpAnswer> {
    let current = new URL(url);
    for (let hop = 0; ; hop += 1) {
      const answer = await this.once(current, url, options);
      const location = answer.headers.location;
      if (!REDIRECT_STATUSES.has(answer.status) || location === undefined) return answer;
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new FetchFailure(`${url}: redirects (HTTP ${answer.status}) to a Location that is not a URL; refused`, 'redirect');
      }
      if (next.origin !== this.origin || next.origin === 'null') {
        throw new FetchFailure(
          `${url}: redirects (HTTP ${answer.status}) to another origin, ${originOf(next)} (the site is ${this.origin}); refused, not fetched`,
          'redirect',
        );
      }
      if (hop + 1 > MAX_REDIRECTS) {
        throw new FetchFailure(`${url}: more than ${MAX_REDIRECTS} redirects within ${this.origin}; refused`, 'redirect');
      }
      current = next;
    }
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** One request to `url` (within the site's origin); messages name `label`, the URL first asked for. */
  private once(url: URL, label: string, options: { maxBytes: number; keepBody?: boolean }): Promise<HttpAnswer> {
    const { signal } = this.options;
    if (signal.aborted) return Promise.reject(this.timeout(label));
    const secure = url.protocol === 'https:';
    const request = (secure ? https : http).request;
    return new Promise<HttpAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (error: FetchFailure) => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = request(url, {
        method: 'GET',
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { 'user-agent': 'prep-push-audit', 'accept-encoding': 'identity' },
        signal,
      });
      req.on('error', (error: NodeJS.ErrnoException) => fail(signal.aborted ? this.timeout(label) : this.describe(label, error)));
      req.on('response', (res) => {
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let size = 0;
        let overCap = false;
        // A redirect's body is dropped, and only a little of it read.
        const redirect = REDIRECT_STATUSES.has(res.statusCode ?? 0) && res.headers.location !== undefined;
        const maxBytes = redirect ? Math.min(options.maxBytes, MAX_REDIRECT_BODY) : options.maxBytes;
        const keepBody = options.keepBody === true && !redirect;
        res.on('data', (chunk: Buffer) => {
          if (overCap) return;
          if (size + chunk.length > maxBytes) {
            overCap = true;
            size += chunk.length;
            // The rest is not read: this socket is not reused.
            req.destroy();
            finish();
            return;
          }
          size += chunk.length;
          hash.update(chunk);
          if (keepBody) chunks.push(chunk);
        });
        const finish = () => {
          if (settled) return;
          settled = true;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            url: url.href,
            size,
            sha256: hash.digest('hex'),
            body: keepBody ? Buffer.concat(chunks) : undefined,
            overCap,
          });
        };
        res.on('end', finish);
        res.on('error', (error: NodeJS.ErrnoException) => fail(signal.aborted ? this.timeout(label) : this.describe(label, error)));
        res.on('aborted', () => fail(signal.aborted ? this.timeout(label) : new FetchFailure(`${label}: the connection closed mid-answer`, 'network')));
      });
      req.end();
    });
  }

  private timeout(label: string): FetchFailure {
    return new FetchFailure(`${label}: no complete answer within the audit deadline (audit.timeout_s: ${this.options.timeoutS} s)`, 'timeout');
  }

  private describe(label: string, error: NodeJS.ErrnoException): FetchFailure {
    const code = error.code ?? '';
    if (TLS_CODES.has(code) || /certificate|ssl|tls/i.test(error.message)) {
      const hint =
        code === 'ERR_TLS_CERT_ALTNAME_INVALID'
          ? 'the certificate does not name this host'
          : 'if the difusor uses a private CA, add it to audit.ca_file; otherwise ask them to fix their certificate';
      return new FetchFailure(`${label}: TLS: ${error.message}${code ? ` (${code})` : ''}; ${hint}`, 'tls');
    }
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host name not found'
          : code === 'ECONNRESET'
            ? 'connection reset by the server'
            : code === 'EHOSTUNREACH' || code === 'ENETUNREACH'
              ? 'host unreachable'
              : error.message;
    return new FetchFailure(`${label}: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`, 'network');
  }
}

/** `https://host:8443`, or the scheme alone for a URL without an origin (`data:`, `file:`...). */
function originOf(url: URL): string {
  return url.origin === 'null' ? url.protocol : url.origin;
}

/** `json/a b.json` under `https://x/prep/` → `https://x/prep/json/a%20b.json`. */
export function fileUrl(base: string, path: string): string {
  return new URL(path.split('/').map(encodeURIComponent).join('/'), base).href;
}
