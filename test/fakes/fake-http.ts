import net from 'node:net';
import http from 'node:http';

/** Plumbing every fake destination server shares: a real HTTP server on 127.0.0.1. */

/** Starts `handler` on a free loopback port. */
export async function listenOnLoopback(handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): Promise<http.Server> {
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** The http://127.0.0.1:<port> a server started by listenOnLoopback answers on. */
export function loopbackUrl(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** Stops a server, cutting connections a client left open. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** The request's body as received, for a fake that limits its size in bytes (decoding could change the count). */
export async function readRequestBytes(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The request's body as text, for fakes that need the exact text (signatures, form or CSV bodies, their own answer to malformed JSON), and its path without the query. */
export async function readRequestText(req: http.IncomingMessage): Promise<{ text: string; path: string }> {
  return { text: (await readRequestBytes(req)).toString('utf8'), path: (req.url ?? '').split('?')[0]! };
}

/** The request's body parsed as JSON (undefined when it is not JSON), and its path without the query. */
export async function readJsonRequest(req: http.IncomingMessage): Promise<{ body: unknown; path: string }> {
  const { text, path } = await readRequestText(req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { body, path };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released): an unreachable endpoint. */
export async function closedLoopbackPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
