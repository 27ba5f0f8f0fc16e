// SSH transport against real lab hosts: parallel connections, error classes,
// host key checking (mismatch, accept-new, hashed entries), jump hosts, key
// files (encrypted too), ssh-agent, timeouts and verbatim arguments.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AuthError,
  HostKeyError,
  OperationTimeoutError,
  UnreachableError,
  fingerprintSha256,
  hashHostName,
  knownHostsName,
  openHost,
  type HostSession,
} from "../../../src/transport/index.js";
import { startLab, type Lab } from "../../support/lab.js";
import { closedPort } from "../../support/net.js";
import { isolated, labTarget, rejection } from "../../support/transport.js";
import { generateUsableKeyPair } from "../../../src/lab/keys.js";

function keyBlob(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[1]!, "base64");
}


describe("SSH transport against lab hosts", () => {
  let lab: Lab;
  let work: string;
  beforeAll(async () => {
    lab = await startLab(4);
    work = mkdtempSync(join(tmpdir(), "postfleet-transport-"));
  });
  afterAll(async () => {
    await lab?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("reaches 4 hosts in parallel over one connection each, running several commands on it", async () => {
    const sessions = await Promise.all(lab.hosts.map((_, i) => openHost(labTarget(lab, i), isolated)));
    try {
      const names = await Promise.all(sessions.map((s) => s.exec(["hostname"])));
      const again = await Promise.all(sessions.map((s) => s.exec(["sh", "-c", "echo $PPID; exit 7"])));
      expect(new Set(names.map((r) => r.stdout.trim())).size).toBe(4);
      for (const r of names) expect(r.exitCode).toBe(0);
      for (const r of again) expect(r.exitCode).toBe(7);
      // The server still sees one TCP connection per host (one sshd session process each).
      for (const h of lab.hosts) {
        // Established (state 01) TCP connections on local port 22 (0x0016).
        const conns = await h.exec("cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:0016$/ && $4 == \"01\"' | wc -l");
        expect(conns.stdout.trim()).toBe("1");
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it("classifies a closed port among reachable hosts as unreachable, and a DNS failure too", async () => {
    const port = await closedPort();
    const results = await Promise.allSettled([
      openHost(labTarget(lab, 0), isolated),
      openHost({ ...labTarget(lab, 1), name: "closed", port }, isolated),
      openHost(labTarget(lab, 2), isolated),
      openHost({ ...labTarget(lab, 3), name: "nodns", address: "no-such-host.invalid", port: 22 }, isolated),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected"]);
    const closed = (results[1] as PromiseRejectedResult).reason;
    const nodns = (results[3] as PromiseRejectedResult).reason;
    for (const e of [closed, nodns]) {
      expect(e).toBeInstanceOf(UnreachableError);
      expect(e.unreachable).toBe(true);
    }
    expect(closed.message).toMatch(/ECONNREFUSED/);
    expect(closed.host).toBe("closed");
    for (const r of results) if (r.status === "fulfilled") await r.value.close();
  });

  it("reports a wrong key as an authentication failure, not unreachable", async () => {
    const wrong = join(work, "wrong_key");
    writeFileSync(wrong, generateUsableKeyPair("ed25519").private, { mode: 0o600 });
    const e = await rejection(openHost(labTarget(lab, 0, { privateKeyFiles: [wrong] }), isolated));
    expect(e).toBeInstanceOf(AuthError);
    expect((e as AuthError).unreachable).toBe(false);
    expect(e.message).toContain(wrong);
  });

  it("logs in with an encrypted key, its passphrase from POSTFLEET_SSH_KEY_PASSPHRASE, and refuses a wrong one", async () => {
    const pair = generateUsableKeyPair("ed25519", { passphrase: "correct horse", cipher: "aes256-ctr", rounds: 4 });
    const file = join(work, "encrypted_key");
    writeFileSync(file, pair.private, { mode: 0o600 });
    await lab.hosts[1]!.exec(["sh", "-c", 'printf "%s\\n" "$1" >> /root/.ssh/authorized_keys', "sh", pair.public]);
    const saved = process.env.POSTFLEET_SSH_KEY_PASSPHRASE;
    try {
      process.env.POSTFLEET_SSH_KEY_PASSPHRASE = "correct horse";
      const s = await openHost(labTarget(lab, 1, { privateKeyFiles: [file] }), isolated);
      expect((await s.exec(["id", "-un"])).stdout.trim()).toBe("root");
      await s.close();
      process.env.POSTFLEET_SSH_KEY_PASSPHRASE = "wrong horse";
      const e = await rejection(openHost(labTarget(lab, 1, { privateKeyFiles: [file] }), isolated));
      expect(e).toBeInstanceOf(AuthError);
      expect(e.message).toMatch(/wrong passphrase/);
      expect(e.message).not.toContain("horse");
    } finally {
      if (saved === undefined) delete process.env.POSTFLEET_SSH_KEY_PASSPHRASE;
      else process.env.POSTFLEET_SSH_KEY_PASSPHRASE = saved;
    }
  });

  it("authenticates through ssh-agent (SSH_AUTH_SOCK) when no key file is given", async () => {
    const sock = join(work, "agent.sock");
    const agent: ChildProcess = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      for (let i = 0; i < 50; i++) {
        try {
          execFileSync("ssh-add", [lab.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const s = await openHost(labTarget(lab, 2, { privateKeyFiles: undefined }), { ...isolated, agentSocket: sock });
      expect((await s.exec(["true"])).exitCode).toBe(0);
      await s.close();
    } finally {
      agent.kill();
    }
  });

  it("falls back to the default key ~/.ssh/id_ed25519 when nothing else is configured", async () => {
    const home = join(work, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, ".ssh", "id_ed25519"), readFileSync(lab.privateKeyPath), { mode: 0o600 });
    const s = await openHost(labTarget(lab, 2, { privateKeyFiles: undefined }), { ...isolated, defaultKeys: true, sshConfig: { files: [], home } });
    expect((await s.exec(["id", "-un"])).stdout).toBe("root\n");
    await s.close();
  });

  it("refuses a changed host key, naming the known_hosts line and the presented SHA256 fingerprint", async () => {
    const h0 = lab.hosts[0]!;
    const h1 = lab.hosts[1]!;
    const file = join(work, "known_hosts_mismatch");
    writeFileSync(file, `# other\n${knownHostsName(h0.address, h0.port)} ${h1.hostKey}\n`);
    const e = await rejection(openHost(labTarget(lab, 0, { knownHostsFile: file }), isolated));
    expect(e).toBeInstanceOf(HostKeyError);
    expect((e as HostKeyError).reason).toBe("changed");
    expect(e.message).toContain(`${file}:2`);
    expect(e.message).toContain(fingerprintSha256(keyBlob(h0.hostKey)));
    expect(e.message).toMatch(/ssh-keygen -R/);
    // accept-new does not override a changed key either; nothing is written.
    const e2 = await rejection(openHost(labTarget(lab, 0, { knownHostsFile: file, hostKeyChecking: "accept-new" }), isolated));
    expect(e2).toBeInstanceOf(HostKeyError);
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("accept-new records an unknown host, which then passes strict checking; strict refuses unknown hosts", async () => {
    const file = join(work, "sub", "known_hosts_new");
    const strictFirst = await rejection(openHost(labTarget(lab, 3, { knownHostsFile: file }), isolated));
    expect(strictFirst).toBeInstanceOf(HostKeyError);
    expect((strictFirst as HostKeyError).reason).toBe("unknown");
    expect(strictFirst.message).toContain(fingerprintSha256(keyBlob(lab.hosts[3]!.hostKey)));

    const warnings: string[] = [];
    const s = await openHost(labTarget(lab, 3, { knownHostsFile: file, hostKeyChecking: "accept-new" }), { ...isolated, warn: (m) => warnings.push(m) });
    await s.close();
    const h = lab.hosts[3]!;
    expect(readFileSync(file, "utf8")).toBe(`[127.0.0.1]:${h.port} ${h.hostKey.split(/\s+/).slice(0, 2).join(" ")}\n`);
    expect(warnings.join("\n")).toMatch(/added host key/);
    const strict = await openHost(labTarget(lab, 3, { knownHostsFile: file }), isolated);
    expect((await strict.exec(["true"])).exitCode).toBe(0);
    await strict.close();
    // OpenSSH agrees with the entry we wrote.
    const found = execFileSync("ssh-keygen", ["-F", `[127.0.0.1]:${h.port}`, "-f", file]).toString();
    expect(found).toContain("ssh-ed25519");
  });

  it("host key checking off accepts an unknown host with a warning", async () => {
    const warnings: string[] = [];
    const s = await openHost(labTarget(lab, 2, { knownHostsFile: join(work, "none"), hostKeyChecking: "off" }), { ...isolated, warn: (m) => warnings.push(m) });
    await s.close();
    expect(warnings.join("\n")).toMatch(/is not known; accepted because host key checking is off/);
  });

  it("accepts hashed known_hosts entries (|1|salt|hash), including ones ssh-keygen -H wrote", async () => {
    const h = lab.hosts[1]!;
    const ours = join(work, "known_hosts_hashed");
    writeFileSync(ours, `${hashHostName(knownHostsName(h.address, h.port))} ${h.hostKey}\n`);
    const s = await openHost(labTarget(lab, 1, { knownHostsFile: ours }), isolated);
    await s.close();

    const theirs = join(work, "known_hosts_keygen");
    writeFileSync(theirs, readFileSync(lab.knownHostsPath));
    execFileSync("ssh-keygen", ["-H", "-f", theirs], { stdio: "ignore" });
    expect(readFileSync(theirs, "utf8")).toMatch(/^\|1\|/);
    const all = await Promise.all(lab.hosts.map((_, i) => openHost(labTarget(lab, i, { knownHostsFile: theirs }), isolated)));
    await Promise.all(all.map((x) => x.close()));
  });

  it("connects to host B's internal address through host A as a jump host, verifying both host keys", async () => {
    const a = lab.hosts[0]!;
    const b = lab.hosts[1]!;
    const file = join(work, "known_hosts_jump");
    writeFileSync(file, `${readFileSync(lab.knownHostsPath, "utf8")}${b.internalAddress} ${b.hostKey}\n`);
    const target = { ...labTarget(lab, 1, { knownHostsFile: file }), address: b.internalAddress, port: 22, proxyJump: `root@${a.address}:${a.port}` };
    const s = await openHost(target, isolated);
    const name = await s.exec(["hostname"]);
    expect(name.stdout.trim()).toBe((await b.exec("hostname")).stdout.trim());
    await s.close();

    // Two targets behind the same jump host share one connection to it.
    const c = lab.hosts[2]!;
    writeFileSync(file, `${readFileSync(file, "utf8")}${c.internalAddress} ${c.hostKey}\n`);
    const [viaB, viaC] = await Promise.all([
      openHost(target, isolated),
      openHost({ ...target, name: c.name, address: c.internalAddress }, isolated),
    ]);
    const established = "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:0016$/ && $4 == \"01\"' | wc -l";
    expect((await a.exec(established)).stdout.trim()).toBe("1");
    await viaB.close();
    expect((await viaC.exec(["hostname"])).stdout.trim()).toBe((await c.exec("hostname")).stdout.trim());
    await viaC.close();
    const fresh = await openHost(target, isolated);
    expect((await fresh.exec(["true"])).exitCode).toBe(0);
    await fresh.close();

    // B's key unknown under its internal address: refused even though the jump host is fine.
    const e = await rejection(openHost({ ...target, knownHostsFile: lab.knownHostsPath }, isolated));
    expect(e).toBeInstanceOf(HostKeyError);
    expect(e.message).toContain(b.internalAddress);
    // A jump host with a wrong key: refused at the first hop.
    const badJump = join(work, "known_hosts_badjump");
    writeFileSync(badJump, `[${a.address}]:${a.port} ${b.hostKey}\n${b.internalAddress} ${b.hostKey}\n`);
    const e2 = await rejection(openHost({ ...target, knownHostsFile: badJump }, isolated));
    expect(e2).toBeInstanceOf(HostKeyError);
    expect(e2.message).toContain(`[${a.address}]:${a.port}`);
    // A closed port behind the jump host is unreachable.
    const e3 = await rejection(openHost({ ...target, port: 2222 }, isolated));
    expect(e3).toBeInstanceOf(UnreachableError);
    // An address the jump host cannot reach (TEST-NET-1) is unreachable within the connect timeout.
    const e4 = await rejection(openHost({ ...target, address: "192.0.2.1", connectTimeoutMs: 1500 }, isolated));
    expect(e4).toBeInstanceOf(UnreachableError);
    expect(e4.message).toContain("192.0.2.1");
  });

  it("passes shell metacharacters to the remote program verbatim and runs nothing else", async () => {
    const s = await openHost(labTarget(lab, 0), isolated);
    try {
      const weird = [
        "a;touch /tmp/pwned1",
        "$(touch /tmp/pwned2)",
        "`touch /tmp/pwned3`",
        "it's",
        '"double" quotes',
        "two  spaces",
        "line1\nline2",
        "",
        "*",
        "~",
        "$HOME",
        "back\\slash",
        "-n",
        "| cat > /tmp/pwned4",
        "&& touch /tmp/pwned5 &",
        "ünïcødé",
      ];
      const r = await s.exec(["node", "-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...weird]);
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(weird);
      const pwned = await lab.hosts[0]!.exec("ls /tmp/pwned* 2>/dev/null | wc -l");
      expect(pwned.stdout.trim()).toBe("0");
      const stdin = await s.exec(["cat"], { stdin: "given on stdin\n" });
      expect(stdin.stdout).toBe("given on stdin\n");
    } finally {
      await s.close();
    }
  });

  it("kills a command that exceeds its per-operation timeout and keeps the connection usable", async () => {
    const s = await openHost(labTarget(lab, 3), isolated);
    try {
      const e = await rejection(s.exec(["sleep", "60"], { timeoutMs: 300 }));
      expect(e).toBeInstanceOf(OperationTimeoutError);
      expect((await s.exec(["echo", "still here"])).stdout).toBe("still here\n");
    } finally {
      await s.close();
    }
  });

  it("honours an ssh config file: an alias with HostName, Port, User and IdentityFile", async () => {
    const h = lab.hosts[2]!;
    const cfg = join(work, "ssh_config");
    writeFileSync(cfg, `Host mail-alias\n  HostName ${h.address}\n  Port ${h.port}\n  User root\n  IdentityFile ${lab.privateKeyPath}\n`);
    const s = await openHost({ name: "mail-alias", address: "mail-alias", knownHostsFile: lab.knownHostsPath }, { ...isolated, sshConfig: { files: [cfg] } });
    expect(s.connection.settings).toMatchObject({ hostname: h.address, port: h.port, user: "root" });
    expect((await s.exec(["hostname"])).stdout.trim()).toBe((await h.exec("hostname")).stdout.trim());
    await s.close();
  });
});
