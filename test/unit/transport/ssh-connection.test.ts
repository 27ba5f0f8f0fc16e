// Connection failures that need no SSH server, classified: silent peer
// (handshake timeout), closed port, peer hanging up, no way to authenticate.
import { chooseTransport } from "../../../src/transport/transport-choice.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuthError, TransportConfigError, UnreachableError, openHost } from "../../../src/transport/index.js";

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
    const e = await openHost({ name: "silent", address: "127.0.0.1", port, connectTimeoutMs: 300 }, { ...isolated, agentSocket: "/nonexistent.sock" }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toMatch(/timed out after 0.3 s connecting to silent/);
  });

  it("a peer that hangs up at once is unreachable", async () => {
    const port = await listen((s) => s.destroy());
    const e = await openHost({ name: "rude", address: "127.0.0.1", port }, { ...isolated, agentSocket: "/nonexistent.sock" }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(UnreachableError);
  });

  it("no key, no agent, no default keys: an auth error before connecting", async () => {
    const e = await openHost({ name: "nokeys", address: "127.0.0.1", port: 1 }, isolated).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect((e as Error).message).toMatch(/no key file configured or found and no ssh-agent/);
  });

  it("an inventory key file that is not a key is an auth error naming the file", async () => {
    const e = await openHost({ name: "badkey", address: "127.0.0.1", port: 1, privateKeyFiles: [key] }, isolated).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect((e as Error).message).toContain(key);
  });
});

describe("CheckHostIP yes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-checkhostip-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, "config");
  writeFileSync(cfg, "Host by-name\n  HostName mx.example.invalid\n  CheckHostIP yes\nHost by-address\n  HostName 127.0.0.1\n  Port 1\n  CheckHostIP yes\n");
  const o = { ...isolated, agentSocket: "/nonexistent.sock", sshConfig: { files: [cfg] } };

  it("with ssh2 set, is refused with file:line, before connecting, where ssh would check the address's key too; auto hands it to ssh", async () => {
    const e = await openHost({ name: "by-name", address: "by-name", transport: "ssh2" }, o).catch((x: Error) => x);
    expect(e).toBeInstanceOf(TransportConfigError);
    expect((e as Error).message).toContain(`${cfg}:3: CheckHostIP yes applies to by-name`);
    expect(await chooseTransport({ name: "by-name", address: "by-name" }, o)).toEqual({ kind: "openssh", because: `CheckHostIP yes applies to it (${cfg}:3)` });
  });

  it("is no obstacle where ssh skips it (HostName is an address): the connection is tried", async () => {
    const e = await openHost({ name: "by-address", address: "by-address", transport: "ssh2" }, o).catch((x: Error) => x);
    expect((await chooseTransport({ name: "by-address", address: "by-address" }, o)).kind).toBe("ssh2");
    expect(e).toBeInstanceOf(UnreachableError);
  });
});
