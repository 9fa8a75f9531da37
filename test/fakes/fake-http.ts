import http from 'node:http';

/** Plumbing every fake destination server shares: a real HTTP server on 127.0.0.1. */

/** Starts `handler` on a free loopback port. */
export async function listenOnLoopback(handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): Promise<http.Server> {
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Stops a server, cutting connections a client left open. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** The request's body parsed as JSON (undefined when it is not JSON), and its path without the query. */
export async function readJsonRequest(req: http.IncomingMessage): Promise<{ body: unknown; path: string }> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    body = undefined;
  }
  return { body, path: (req.url ?? '').split('?')[0]! };
}
