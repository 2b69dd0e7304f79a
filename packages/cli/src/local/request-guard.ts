import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http";

type Headers = Readonly<Record<string, string | undefined>>;

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/** 32 random bytes, URL-safe: printed at start-up and required on every API call. */
export function newAccessToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The local server's defences, each one a separate check:
 * - a bearer token, printed at start-up, on every API call (another local user or a web page cannot guess it);
 * - the Host header must name this machine (a DNS-rebinding page has its own host name there);
 * - a browser Origin, when sent, must be this server (a cross-site form or fetch is refused);
 * - POSTs must be `application/json`, which a cross-site HTML form cannot send without a CORS preflight.
 */
export class RequestGuard {
  private readonly tokenDigest: Buffer;
  private readonly hostnames: ReadonlySet<string>;

  constructor(
    token: string,
    bindHost: string,
    private readonly port: () => number,
  ) {
    this.tokenDigest = digest(token);
    const bound = bindHost.includes(":") && !bindHost.startsWith("[") ? `[${bindHost}]` : bindHost;
    this.hostnames = new Set([...LOOPBACK_NAMES, ...(WILDCARD_HOSTS.has(bound) ? [] : [bound.toLowerCase()])]);
  }

  /** 403 unless the Host header names this machine. */
  checkHost(headers: Headers): void {
    const host = headers.host;
    if (!host) throw new HttpError(403, "missing Host header");
    const hostname = hostnameOf(`http://${host}`);
    if (!hostname || !this.hostnames.has(hostname)) {
      throw new HttpError(403, `Host "${host}" is not this local server; refused (DNS-rebinding defence)`);
    }
  }

  /** 403 when a browser says the request comes from another site. */
  checkOrigin(headers: Headers): void {
    const origin = headers.origin;
    if (origin !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(origin);
      } catch {
        url = undefined;
      }
      const sameOrigin =
        url !== undefined &&
        url.protocol === "http:" &&
        this.hostnames.has(url.hostname.toLowerCase()) &&
        Number(url.port || "80") === this.port();
      if (!sameOrigin) throw new HttpError(403, `cross-origin request from ${origin} refused`);
    }
    if (headers["sec-fetch-site"] === "cross-site") throw new HttpError(403, "cross-site request refused");
  }

  /** 401 unless `Authorization: Bearer <token>` carries the start-up token. */
  checkToken(headers: Headers): void {
    const authorization = headers.authorization;
    if (!authorization) {
      throw new HttpError(401, "missing access token: send the header `Authorization: Bearer <token>` with the token printed at start-up");
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match?.[1]) throw new HttpError(401, "the Authorization header must be `Bearer <token>`");
    // Compare fixed-length digests so neither the length nor the content leaks through timing.
    if (!timingSafeEqual(digest(match[1]), this.tokenDigest)) {
      throw new HttpError(401, "wrong access token: use the token printed when `hipaa-remediate serve` started");
    }
  }

  /** 415 unless the body is declared as JSON. */
  checkJsonBody(headers: Headers): void {
    const type = headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") {
      throw new HttpError(415, `Content-Type must be application/json, got ${type ? `"${type}"` : "none"}`);
    }
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
