/** A free TCP port on `host`: a CRN keeps its registered URL across a restart, so its port is chosen once. */
import { createServer } from 'node:net';

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}
