import { createServer, request, type Server } from "node:http";

export interface FaultProxy {
  url: string;
  /** Requests answered with a fault so far. */
  faults: number;
  /** Requests passed through to the emulator. */
  forwarded: number;
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of the emulator that answers the first `failFirst` requests with the given fault,
 * then forwards everything. It exercises the real SDK retry path, which client mocks would bypass.
 */
export async function startFaultProxy(
  target: string,
  options: { failFirst: number; status: number; body: string; contentType?: string; headers?: Record<string, string> },
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const state = { faults: 0, forwarded: 0 };
  const server: Server = createServer((incoming, outgoing) => {
    if (state.faults < options.failFirst) {
      state.faults += 1;
      incoming.resume();
      outgoing.writeHead(options.status, { "content-type": options.contentType ?? "application/xml", ...options.headers });
      outgoing.end(options.body);
      return;
    }
    state.forwarded += 1;
    const proxied = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    proxied.on("error", (error) => outgoing.destroy(error));
    incoming.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fault proxy has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    get faults() {
      return state.faults;
    },
    get forwarded() {
      return state.forwarded;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
