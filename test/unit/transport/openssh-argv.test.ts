// The OpenSSH transport's argv (each element reaches ssh verbatim, no shell) and
// its reading of ssh's failures. `ssh -G` (which connects nowhere) is the judge
// of how ssh itself reads the options built here.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { classifySshFailure, configValue, exitArgv, forwardArgv, hostKeysFromLog, masterArgv, opensshOptions, sessionArgv, type OpenSshArgvOptions } from "../../../src/transport/openssh-argv.js";
import { unverifiedFromLog } from "../../../src/transport/openssh-connection.js";
import { AuthError, HostKeyError, TransportConfigError, UnreachableError } from "../../../src/transport/errors.js";
import { buildCommand } from "../../../src/transport/shell.js";
import type { ConnectionTarget } from "../../../src/shared/connection-target.js";

const run = promisify(execFile);

const base: OpenSshArgvOptions = { controlPath: "/tmp/pf-x/m1", connectTimeoutMs: 10_000, configFile: "/dev/null" };

const odd: ConnectionTarget = {
  name: "mx1",
  address: "mx1.example.net",
  port: 2222,
  user: "dep loy",
  privateKeyFiles: ["/keys/my key", "/keys/%d"],
  knownHostsFile: "/etc/pf/known hosts %h",
  hostKeyChecking: "accept-new",
  proxyJump: "jump@bastion:22",
  sshArgs: ["-o", "ServerAliveInterval=7", "-o", "ServerAliveCountMax=4"],
};

/** ssh's own reading of argv: `ssh -G` prints the configuration it would connect with (keys lowercased). */
async function sshG(argv: string[]): Promise<Map<string, string[]>> {
  const i = argv.indexOf("--");
  const { stdout } = await run("ssh", ["-G", ...argv.slice(0, i + 2)]);
  const m = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const at = line.indexOf(" ");
    if (at < 0) continue;
    const k = line.slice(0, at);
    m.set(k, [...(m.get(k) ?? []), line.slice(at + 1)]);
  }
  return m;
}

describe("openssh argv", () => {
  it("maps postfleet's settings to ssh options, the target's values as single argv words, ansible's ssh args last", () => {
    expect(opensshOptions(odd, { ...base, agentSocket: null, globalKnownHostsFiles: [] })).toEqual([
      "-F", "/dev/null",
      "-o", "BatchMode=yes",
      "-o", "ControlPath=/tmp/pf-x/m1",
      "-o", "StrictHostKeyChecking=accept-new",
      "-o", 'UserKnownHostsFile="/etc/pf/known hosts %%h"',
      "-o", "GlobalKnownHostsFile=/dev/null",
      "-o", "IdentityAgent=none",
      "-o", "ConnectTimeout=10",
      "-l", "dep loy",
      "-p", "2222",
      "-i", "/keys/my key",
      "-i", "/keys/%d",
      "-J", "jump@bastion:22",
      "-o", "ServerAliveInterval=7",
      "-o", "ServerAliveCountMax=4",
    ]);
  });

  it("host key checking: strict -> yes, accept-new -> accept-new, off -> no; the target's over the run's; none set: ssh_config's", () => {
    const opt = (t: Partial<ConnectionTarget>, o: Partial<OpenSshArgvOptions> = {}) =>
      opensshOptions({ name: "h", address: "h", ...t }, { ...base, ...o }).filter((a) => a.startsWith("StrictHostKeyChecking="));
    expect(opt({ hostKeyChecking: "strict" })).toEqual(["StrictHostKeyChecking=yes"]);
    expect(opt({ hostKeyChecking: "accept-new" })).toEqual(["StrictHostKeyChecking=accept-new"]);
    expect(opt({ hostKeyChecking: "off" })).toEqual(["StrictHostKeyChecking=no"]);
    expect(opt({ hostKeyChecking: "strict" }, { hostKeyChecking: "off" })).toEqual(["StrictHostKeyChecking=yes"]);
    expect(opt({}, { hostKeyChecking: "off" })).toEqual(["StrictHostKeyChecking=no"]);
    expect(opt({})).toEqual([]);
  });

  it("values ssh would split or expand are quoted for ssh's own reader", () => {
    expect(configValue("/plain/path")).toBe("/plain/path");
    expect(configValue("/a b")).toBe('"/a b"');
    expect(configValue('/a"b\\c')).toBe('"/a\\"b\\\\c"');
    expect(configValue("/x/%h", true)).toBe("/x/%%h");
    expect(configValue("/x y/%h", true)).toBe('"/x y/%%h"');
  });

  it("ssh reads the odd values back as they were meant (ssh -G)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pf-keys-"));
    const keys = [join(dir, "my key"), join(dir, "it's")];
    for (const k of keys) writeFileSync(k, "");
    const argv = masterArgv({ ...odd, privateKeyFiles: keys }, { ...base, controlPath: "/tmp/pf x/%m1", agentSocket: "/run/agent %s.sock" }, 60);
    const g = await sshG(argv);
    const picked = (names: string[]) => Object.fromEntries(names.map((n) => [n, g.get(n)]));
    expect(picked(["user", "port", "hostname", "userknownhostsfile", "controlpath", "identityagent"])).toEqual({
      user: ["dep loy"],
      port: ["2222"],
      hostname: ["mx1.example.net"],
      userknownhostsfile: ["/etc/pf/known hosts %h"],
      controlpath: ["/tmp/pf x/%m1"],
      identityagent: ["/run/agent %s.sock"],
    });
    expect(picked(["stricthostkeychecking", "batchmode", "controlmaster", "controlpersist", "proxyjump", "serveraliveinterval", "serveralivecountmax"])).toEqual({
      stricthostkeychecking: ["accept-new"],
      batchmode: ["yes"],
      controlmaster: ["true"],
      controlpersist: ["60"],
      proxyjump: ["jump@bastion:22"],
      serveraliveinterval: ["7"],
      serveralivecountmax: ["4"],
    });
    expect(g.get("identityfile")).toEqual(keys);
    rmSync(dir, { recursive: true });
  });

  it("a destination or command that looks like an option stays what it is: -- ends ssh's options", async () => {
    const t: ConnectionTarget = { name: "x", address: "-oProxyCommand=touch /tmp/pwned" };
    const command = buildCommand(["sh", "-c", "echo $1", "sh", "a b; $(reboot) 'q'"]);
    const argv = sessionArgv(t, base, command);
    expect(argv.slice(-3)).toEqual(["--", "-oProxyCommand=touch /tmp/pwned", command]);
    expect(argv).toContain("ControlMaster=no");
    expect(exitArgv(t, base).slice(-4)).toEqual(["-O", "exit", "--", "-oProxyCommand=touch /tmp/pwned"]);
    // ssh takes it for a host name, not an option, and refuses that name.
    const err = await sshG(sessionArgv(t, base, command)).then(() => undefined, (e: { stderr?: string }) => e.stderr);
    expect(err).toMatch(/hostname contains invalid characters/);
  });
});

describe("ssh's failures in the ssh2 transport's kinds", () => {
  const where = "mx1 (root@10.0.0.1:22)";
  it("host key refusals: unknown, certificate invalid, changed, revoked", () => {
    const unknown = classifySshFailure("mx1", where, "No ED25519 host key is known for [10.0.0.1]:22 and you have requested strict checking.\r\nHost key verification failed.\r\n", 10_000);
    expect(unknown).toBeInstanceOf(HostKeyError);
    expect((unknown as HostKeyError).reason).toBe("unknown");
    expect(unknown.message).toBe(`host key of ${where} refused by ssh: No ED25519 host key is known for [10.0.0.1]:22 and you have requested strict checking. Host key verification failed.`);
    const expired = classifySshFailure("mx1", where, "Certificate invalid: expired\nHost key verification failed.\n", 10_000);
    expect(expired).toBeInstanceOf(HostKeyError);
    expect(expired.message).toMatch(/Certificate invalid: expired/);
    const changed = classifySshFailure("mx1", where, "@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@\nHost key verification failed.\n", 10_000);
    expect((changed as HostKeyError).reason).toBe("changed");
    const revoked = classifySshFailure("mx1", where, "Host key ED25519-CERT SHA256:abc revoked by file /etc/ssh/revoked\nHost key verification failed.\n", 10_000);
    expect((revoked as HostKeyError).reason).toBe("revoked");
  });

  it("authentication, unreachable, timeout and configuration", () => {
    expect(classifySshFailure("mx1", where, "root@10.0.0.1: Permission denied (publickey).\n", 10_000)).toBeInstanceOf(AuthError);
    const refused = classifySshFailure("mx1", where, "ssh: connect to host 10.0.0.1 port 22: Connection refused\n", 10_000);
    expect(refused).toBeInstanceOf(UnreachableError);
    expect(refused.message).toBe(`cannot connect to ${where}: ssh: connect to host 10.0.0.1 port 22: Connection refused`);
    expect(classifySshFailure("mx1", where, "ssh: connect to host 10.0.0.1 port 22: No route to host\n", 10_000)).toBeInstanceOf(UnreachableError);
    expect(classifySshFailure("mx1", where, "ssh: Could not resolve hostname nope: Name or service not known\n", 10_000)).toBeInstanceOf(UnreachableError);
    const timedOut = classifySshFailure("mx1", where, "ssh: connect to host 10.0.0.1 port 22: Connection timed out\n", 5_000);
    expect(timedOut).toBeInstanceOf(UnreachableError);
    expect(timedOut.message).toMatch(/^timed out after 5 s connecting to mx1/);
    expect(classifySshFailure("mx1", where, "command-line line 0: Bad configuration option: frobnicate\n", 10_000)).toBeInstanceOf(TransportConfigError);
    expect(classifySshFailure("mx1", where, "", 10_000).message).toBe(`cannot connect to ${where}: ssh exited with status 255 and said nothing`);
  });

  it("a key ssh accepted unverified (StrictHostKeyChecking=no) is read from its log: changed, unknown", () => {
    const changed =
      "@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@@\nIT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n" +
      "The fingerprint for the ED25519 key sent by the remote host is\nSHA256:Abc/def+123.\nPassword authentication is disabled to avoid man-in-the-middle attacks.\n";
    expect(unverifiedFromLog(changed)).toEqual({ presented: "changed", keyType: "ssh-ed25519", fingerprint: "SHA256:Abc/def+123" });
    expect(unverifiedFromLog("Warning: Permanently added '[127.0.0.1]:2201' (ECDSA) to the list of known hosts.\n")).toEqual({ presented: "unknown", keyType: "ECDSA", fingerprint: "?" });
    expect(unverifiedFromLog("")).toBeUndefined();
  });
});

describe("the resident agent through the master", () => {
  const t: ConnectionTarget = { name: "mx1", address: "mx1.example.net" };
  const base2: OpenSshArgvOptions = { controlPath: "/tmp/pf/m1", connectTimeoutMs: 10_000 };

  it("the host's identity is the host keys ssh -v accepted, jump hosts first (a certificate by its key's fingerprint)", () => {
    const log = [
      "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026",
      "debug1: Server host key: ssh-ed25519 SHA256:jumpJUMPjump0123456789abcdefABCDEF+/xyzXYZ0",
      "debug1: Host 'bastion' is known and matches the ED25519 host key.",
      "debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com SHA256:ejcMExfMIxJClcGVNlQcBv/nHsbd/Wg2bFgDplcXpS8, serial 0 ID \"mta01\" CA ssh-ed25519 SHA256:p+Aa valid forever",
      "Authenticated to mx1 ([10.0.0.1]:22) using \"publickey\".",
    ].join("\n");
    expect(hostKeysFromLog(log)).toEqual(["SHA256:jumpJUMPjump0123456789abcdefABCDEF+/xyzXYZ0", "SHA256:ejcMExfMIxJClcGVNlQcBv/nHsbd/Wg2bFgDplcXpS8"]);
    expect(hostKeysFromLog("Authenticated to mx1\n")).toEqual([]);
    expect(masterArgv(t, base2, 60)[0]).toBe("-v");
  });

  it("the forward of the agent's socket goes through the master (-O forward -L local:remote); a path ssh would split is refused", () => {
    const argv = forwardArgv(t, base2, "/tmp/pf/m1.f0", "/run/postfleet/resident-0-as-0.sock")!;
    expect(argv.slice(-6)).toEqual(["-O", "forward", "-L", "/tmp/pf/m1.f0:/run/postfleet/resident-0-as-0.sock", "--", "mx1.example.net"]);
    expect(argv).toContain("ControlPath=/tmp/pf/m1");
    expect(forwardArgv(t, base2, "/tmp/pf/m1.f0", "/home/a:b/.cache/postfleet/resident-1-as-1.sock")).toBeUndefined();
    expect(forwardArgv(t, base2, "/tmp/pf/m1.f0", "/home/a b/x.sock")).toBeUndefined();
  });

  it("ssh -v's version banner stays out of the messages", () => {
    const e = classifySshFailure("mx1", "mx1 (root@10.0.0.1:22)", "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026\ndebug1: Connecting to 10.0.0.1\nroot@10.0.0.1: Permission denied (publickey).\n", 10_000);
    expect(e.message).toBe("authentication failed for mx1 (root@10.0.0.1:22); ssh: root@10.0.0.1: Permission denied (publickey).");
  });
});
