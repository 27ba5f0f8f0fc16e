// Connection failures that need no SSH server, classified: silent peer
// (handshake timeout), closed port, peer hanging up, no way to authenticate.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { AuthError, UnreachableError, openHost } from "../../../src/transport/index.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
async function listen(onConn: (s: Socket) => void): Promise<number> {
  const srv = createServer((s) => {
    sockets.push(s);
    onConn(s);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as { port: number }).port;
}
afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

const isolated = { sshConfig: { files: [] }, agentSocket: null, defaultKeys: false, globalKnownHostsFiles: [] };
const key = new URL("../../../package.json", import.meta.url).pathname; // exists, but is not a private key

describe("connection failures", () => {
  it("a peer that never speaks SSH times out as unreachable", async () => {
    const port = await listen(() => {});
    const e = await openHost({ name: "silent", host: "127.0.0.1", port, connectTimeoutMs: 300 }, { ...isolated, agentSocket: "/nonexistent.sock" }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toMatch(/timed out after 0.3 s connecting to silent/);
  });

  it("a peer that hangs up at once is unreachable", async () => {
    const port = await listen((s) => s.destroy());
    const e = await openHost({ name: "rude", host: "127.0.0.1", port }, { ...isolated, agentSocket: "/nonexistent.sock" }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(UnreachableError);
  });

  it("no key, no agent, no default keys: an auth error before connecting", async () => {
    const e = await openHost({ name: "nokeys", host: "127.0.0.1", port: 1 }, isolated).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect((e as Error).message).toMatch(/no key file configured or found and no ssh-agent/);
  });

  it("an inventory key file that is not a key is an auth error naming the file", async () => {
    const e = await openHost({ name: "badkey", host: "127.0.0.1", port: 1, privateKeyFiles: [key] }, isolated).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect((e as Error).message).toContain(key);
  });
});
