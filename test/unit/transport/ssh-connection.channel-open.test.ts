// A server that completes the handshake and authentication, then never answers
// a session channel open: the open fails as unreachable within
// the connect timeout instead of hanging the host, and close() returns.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { UnreachableError, openConnection } from "../../../src/transport/index.js";
import { generateUsableKeyPair } from "../../../src/lab/keys.js";

const dir = mkdtempSync(join(tmpdir(), "pf-chan-"));
const hostKey = generateUsableKeyPair("ed25519");
const userKey = generateUsableKeyPair("ed25519");
const keyFile = join(dir, "id_ed25519");
writeFileSync(keyFile, userKey.private, { mode: 0o600 });

let opened = 0;
const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
  client.on("authentication", (ctx) => ctx.accept());
  client.on("ready", () => {
    client.on("session", () => {
      opened++; // neither accepted nor rejected: the client waits for an answer that never comes
    });
  });
  client.on("error", () => {});
});
afterAll(() => server.close());

describe("opening a session channel", () => {
  it("a server that never answers the open: unreachable within the connect timeout, and the connection closes", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const knownHosts = join(dir, "known_hosts");
    const pub = utils.parseKey(hostKey.public);
    if (pub instanceof Error) throw pub;
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${pub.type} ${pub.getPublicSSH().toString("base64")}\n`);
    const conn = await openConnection(
      { name: "mute", address: "127.0.0.1", port, privateKeyFiles: [keyFile], knownHostsFile: knownHosts, connectTimeoutMs: 2500 },
      { sshConfig: { files: [] }, agentSocket: null, defaultKeys: false, globalKnownHostsFiles: [] },
    );
    const started = Date.now();
    const e = await conn.openChannel("true", () => "opened").catch((x: Error) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toMatch(/timed out after 2.5 s waiting for mute to open a session/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(opened).toBe(1);
    await conn.close();
    expect(conn.isOpen).toBe(false);
  });
});
