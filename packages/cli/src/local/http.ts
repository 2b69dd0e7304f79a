import type { IncomingMessage, ServerResponse } from "node:http";

/** A request the server refuses; the status and message go back to the caller as `{"error": message}`. */
export class HttpError extends Error {
  /** The request field at fault, when one is. */
  readonly field: string | undefined;

  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown; field?: string },
  ) {
    super(message, options);
    this.name = "HttpError";
    this.field = options?.field;
  }
}

/** Headers every response carries: nothing is cached, sniffed, framed or leaked through the Referer. */
const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
} as const;

/** `body` is any JSON-serialisable object: reports and views are interfaces, which JsonValue's index signature rejects. */
export function sendJson(response: ServerResponse, status: number, body: object): void {
  send(response, status, "application/json; charset=utf-8", JSON.stringify(body));
}

export function sendError(response: ServerResponse, error: HttpError): void {
  sendJson(response, error.status, { error: error.message, ...(error.field ? { field: error.field } : {}) });
}

export function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(status, { ...COMMON_HEADERS, ...extraHeaders, "content-type": contentType });
  response.end(body);
}

/** Reads the body as UTF-8 text, refusing more than `limitBytes` (413) before buffering it all. */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(request.headers["content-length"] ?? "0");
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, `request body is larger than ${limitBytes} bytes`);
}

/** Node gives repeated headers as arrays; the Slack signature check and the guards want one string per name. */
export function flatHeaders(request: IncomingMessage): Record<string, string | undefined> {
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}
