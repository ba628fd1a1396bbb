import net from 'node:net';

// A loopback port that was free a moment ago (bind to 0, read it back, close): for tests and benchmarks that
// start a server on a port of their own.
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
