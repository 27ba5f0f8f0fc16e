// The transport chosen for a host that sets none (auto): ssh2 unless the host needs
// the system's ssh, decided from files, ssh_config and the agent before connecting.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseIdentitiesAnswer } from "../../../src/transport/agent-identities.js";
import { chooseTransport } from "../../../src/transport/transport-choice.js";
import { splitProxyJump } from "../../../src/shared/ssh-args.js";
import type { ConnectionTarget } from "../../../src/shared/connection-target.js";

const dir = mkdtempSync(join(tmpdir(), "pf-choice-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
};
const KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const plainKh = file("kh-plain", `[mx1.example.net]:2222 ssh-ed25519 ${KEY}\n`);
const caKh = file("kh-ca", `# fleet CA\n@cert-authority *.example.net ssh-ed25519 ${KEY}\n`);
const bothKh = file("kh-both", `@cert-authority *.example.net ssh-ed25519 ${KEY}\nmx1.example.net ssh-ed25519 ${KEY}\n`);
const key = file("id_ed25519", "not read: only its presence counts\n");
const keyWithCert = file("id_cert", "key\n");
file("id_cert-cert.pub", "ssh-ed25519-cert-v01@openssh.com AAAA\n");

const target = (t: Partial<ConnectionTarget> = {}): ConnectionTarget => ({ name: "mx1", address: "mx1.example.net", port: 22, privateKeyFiles: [key], ...t });
const base = { sshConfig: { files: [] as string[], home: dir }, agentSocket: null, globalKnownHostsFiles: [] as string[] };

describe("chooseTransport", () => {
  it("keeps a transport the inventory or the command line set", async () => {
    expect(await chooseTransport(target({ transport: "ssh2", knownHostsFile: caKh }), base)).toEqual({ kind: "ssh2" });
    expect(await chooseTransport(target({ transport: "openssh" }), base)).toEqual({ kind: "openssh" });
  });

  it("ssh2 for a host with a plain known_hosts line and plain keys", async () => {
    expect(await chooseTransport(target({ port: 2222, knownHostsFile: plainKh }), base)).toEqual({ kind: "ssh2" });
    expect(await chooseTransport(target({ knownHostsFile: bothKh }), base)).toEqual({ kind: "ssh2" });
  });

  it("openssh for a host only an @cert-authority line vouches for, naming the line; not when checking is off", async () => {
    expect(await chooseTransport(target({ knownHostsFile: caKh }), base)).toEqual({
      kind: "openssh",
      because: `only an @cert-authority line vouches for mx1.example.net (${caKh}:2)`,
    });
    expect(await chooseTransport(target({ port: 2222, knownHostsFile: caKh }), base)).toEqual({ kind: "ssh2" }); // the pattern names port 22 only
    expect(await chooseTransport(target({ knownHostsFile: caKh, hostKeyChecking: "off" }), base)).toEqual({ kind: "ssh2" });
    // Through the global files too (ssh_known_hosts).
    expect((await chooseTransport(target({ knownHostsFile: plainKh }), { ...base, globalKnownHostsFiles: [caKh] })).kind).toBe("openssh");
  });

  it("openssh when ssh would present a user certificate: beside the key, or CertificateFile", async () => {
    expect(await chooseTransport(target({ privateKeyFiles: [keyWithCert], knownHostsFile: plainKh, port: 2222 }), base)).toEqual({
      kind: "openssh",
      because: `ssh would present the user certificate ${keyWithCert}-cert.pub`,
    });
    const cert = file("login-cert.pub", "ssh-ed25519-cert-v01@openssh.com AAAA\n");
    const cfg = file("config-cert", `Host mx1.example.net\n  CertificateFile ${cert}\n`);
    expect(await chooseTransport(target({ knownHostsFile: plainKh, port: 2222 }), { ...base, sshConfig: { files: [cfg], home: dir } })).toEqual({
      kind: "openssh",
      because: `ssh would present the user certificate ${cert}`,
    });
  });

  it("openssh for ssh options in the inventory and for ssh_config settings only ssh follows, naming the line", async () => {
    expect((await chooseTransport(target({ sshArgs: ["-o", "ProxyCommand=nc %h %p"] }), base)).because).toBe(
      "ssh options are set for it that only ssh follows (-o ProxyCommand=nc %h %p, from ansible_ssh_common_args or ansible_ssh_extra_args)",
    );
    // ProxyJump alone is taken for ssh2 too (postfleet_proxy_jump's Ansible spelling).
    expect(splitProxyJump(["-o", "ProxyJump=ops@bastion", "-Jb2", "-J", "b3", "-oProxyJump b4"]).others).toEqual([]);
    expect(splitProxyJump(["-J", "b", "-o", "StrictHostKeyChecking=no", "-C"]).others).toEqual(["-o", "StrictHostKeyChecking=no", "-C"]);
    expect((await chooseTransport(target({ sshArgs: ["-o", "ProxyJump=ops@bastion"], knownHostsFile: plainKh, port: 2222 }), base)).kind).toBe("ssh2");
    const cfg = file("config-proxy", `Host other\n  User x\nHost mx1.example.net\n  ProxyCommand nc -X connect %h %p\n`);
    const c = await chooseTransport(target({ knownHostsFile: plainKh, port: 2222 }), { ...base, sshConfig: { files: [cfg], home: dir } });
    expect(c.kind).toBe("openssh");
    expect(c.because).toMatch(new RegExp(`^ssh_config: ${cfg.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:4: ProxyCommand applies to mx1`));
    const exec = file("config-exec", `Match exec "test -f /etc/vpn-up"\n  ProxyJump bastion\n`);
    expect((await chooseTransport(target({ knownHostsFile: plainKh, port: 2222 }), { ...base, sshConfig: { files: [exec], home: dir } })).because).toMatch(
      /Match exec/,
    );
    // A plain mistake stays ssh2's to report (it is no better with ssh).
    const bad = file("config-bad", `Host mx1.example.net\n  Port seventy\n`);
    expect(await chooseTransport(target({ knownHostsFile: plainKh }), { ...base, sshConfig: { files: [bad], home: dir } })).toEqual({ kind: "ssh2" });
  });

  describe("ssh-agent", () => {
    const servers: Server[] = [];
    afterAll(() => servers.forEach((s) => s.close()));
    /** A unix socket answering REQUEST_IDENTITIES with these (type, comment) pairs. */
    const fakeAgent = async (ids: [string, string][]): Promise<string> => {
      const path = join(dir, `agent-${servers.length}.sock`);
      const packString = (b: Buffer) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        return Buffer.concat([len, b]);
      };
      const body = Buffer.concat([
        Buffer.from([12, 0, 0, 0, ids.length]),
        ...ids.flatMap(([type, comment]) => [packString(Buffer.concat([packString(Buffer.from(type)), Buffer.from("keydata")])), packString(Buffer.from(comment))]),
      ]);
      const server = createServer((c) => c.once("data", () => c.end(packString(body))));
      servers.push(server);
      await new Promise<void>((res) => server.listen(path, res));
      return path;
    };

    it("openssh when the agent holds a certificate; ssh2 when it holds plain keys or cannot be reached", async () => {
      const withCert = await fakeAgent([["ssh-ed25519", "plain"], ["ssh-ed25519-cert-v01@openssh.com", "ops@vault"]]);
      expect(await chooseTransport(target({ privateKeyFiles: [], knownHostsFile: plainKh, port: 2222 }), { ...base, agentSocket: withCert, defaultKeys: false })).toEqual({
        kind: "openssh",
        because: "ssh-agent holds a user certificate (ssh-ed25519-cert-v01@openssh.com ops@vault) ssh would present",
      });
      const plainOnly = await fakeAgent([["ssh-ed25519", "plain"]]);
      expect((await chooseTransport(target({ knownHostsFile: plainKh, port: 2222 }), { ...base, agentSocket: plainOnly })).kind).toBe("ssh2");
      expect((await chooseTransport(target({ knownHostsFile: plainKh, port: 2222 }), { ...base, agentSocket: join(dir, "none.sock") })).kind).toBe("ssh2");
    });

    it("parses an identities answer and refuses a malformed one", () => {
      expect(parseIdentitiesAnswer(Buffer.from([12, 0, 0, 0, 0]))).toEqual([]);
      expect(() => parseIdentitiesAnswer(Buffer.from([5]))).toThrow(/not 12/);
      expect(() => parseIdentitiesAnswer(Buffer.from([12, 0, 0, 0, 1, 0, 0, 0, 9]))).toThrow(/truncated/);
    });
  });
});
