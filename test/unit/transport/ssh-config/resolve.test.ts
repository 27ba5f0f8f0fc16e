// ~/.ssh/config resolution compared with OpenSSH's own `ssh -G`, plus
// inventory-over-config precedence and ProxyJump syntax.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TransportConfigError } from "../../../../src/transport/errors.js";
import { parseProxyJump, resolveHop } from "../../../../src/transport/ssh-config/resolve.js";
import { connectionTokens, expandSshPath } from "../../../../src/transport/ssh-config/tokens.js";

const CONFIG = `# test config
Host web* !web9
  HostName %h.example.com
  User deploy
  IdentityFile ~/.ssh/k_%r_%h
  IdentityFile /keys/second
  ProxyJump bastion:2200
Host *.example.com web*
  Port 2201
  ConnectTimeout 7
  User ignored
Host bastion
  User jump
  IdentityFile /keys/k_%u
  UserKnownHostsFile ~/.ssh/kh_%h /etc/kh2
  StrictHostKeyChecking accept-new
  HashKnownHosts yes
Host nojump
  ProxyJump none
  Port 2202
Host *
  Port 22
`;

const dir = mkdtempSync(join(tmpdir(), "postfleet-sshcfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, "config");
writeFileSync(file, CONFIG);
const home = "/home/tester";
const localUser = "tester";
const opts = { files: [file], home, localUser };

/** What `ssh -G` says, with ~ and the tokens ssh expands later applied the same way. */
function sshG(host: string, localUser: string, home: string) {
  const out = execFileSync("ssh", ["-G", "-F", file, host], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  const get = (k: string) => out.split("\n").filter((l) => l.startsWith(`${k} `)).map((l) => l.slice(k.length + 1));
  const user = get("user")[0]!;
  const hostname = get("hostname")[0]!;
  const port = Number(get("port")[0]);
  return {
    hostname,
    port,
    user,
    proxyJump: get("proxyjump")[0],
    knownHostsFiles: get("userknownhostsfile")[0]!.split(" ").map((f) => f.replace(/^~\//, `${home}/`)),
    strict: get("stricthostkeychecking")[0],
    hash: get("hashknownhosts")[0],
    connectTimeoutMs: get("connecttimeout")[0] === "none" ? undefined : Number(get("connecttimeout")[0]) * 1000,
    identityFiles: get("identityfile").map((f) =>
      expandSshPath(f, connectionTokens({ hostArg: host, hostname, port, remoteUser: user, localUser, home }), home, localUser),
    ),
  };
}

describe("ssh_config resolution", () => {
  it.each(["web1", "bastion", "nojump", "mail.example.com"])("agrees with ssh -G for %s", (host) => {
    // ssh -G knows the real local user (%u, default User), so compare with that one.
    const real = userInfo().username;
    const ours = resolveHop({ host }, { ...opts, localUser: real, home: homedir() });
    const theirs = sshG(host, real, homedir());
    expect(ours.user).toBe(theirs.user);
    expect(ours.hostname).toBe(theirs.hostname);
    expect(ours.port).toBe(theirs.port);
    expect(ours.proxyJump).toBe(theirs.proxyJump);
    expect(ours.connectTimeoutMs).toBe(theirs.connectTimeoutMs);
    if (ours.identityFiles.length > 0) expect(ours.identityFiles).toEqual(theirs.identityFiles);
    if (ours.knownHostsFiles) {
      // ssh -G leaves %-tokens of UserKnownHostsFile for later; compare after the same expansion.
      expect(ours.knownHostsFiles).toEqual(theirs.knownHostsFiles.map((f) => f.replace("%h", theirs.hostname)));
    }
    expect(ours.hashKnownHosts).toBe(theirs.hash === "yes");
    expect(ours.hostKeyChecking).toBe({ true: "strict", "accept-new": "accept-new", false: "off", ask: undefined }[theirs.strict!]);
  });

  it("gives the first value found, as OpenSSH does (a negated Host pattern excludes the block)", () => {
    expect(resolveHop({ host: "web1" }, opts)).toMatchObject({
      hostname: "web1.example.com",
      user: "deploy",
      port: 2201,
      identityFiles: [`${home}/.ssh/k_deploy_web1.example.com`, "/keys/second"],
      explicitIdentityFiles: false,
      proxyJump: "bastion:2200",
      connectTimeoutMs: 7000,
    });
    expect(resolveHop({ host: "web9" }, opts)).toMatchObject({ hostname: "web9", user: "ignored", port: 2201, identityFiles: [] });
    expect(resolveHop({ host: "bastion" }, opts)).toMatchObject({
      identityFiles: ["/keys/k_tester"],
      knownHostsFiles: [`${home}/.ssh/kh_bastion`, "/etc/kh2"],
      hostKeyChecking: "accept-new",
      hashKnownHosts: true,
    });
    expect(resolveHop({ host: "unknown" }, opts)).toMatchObject({ hostname: "unknown", user: "tester", port: 22 });
  });

  it("lets inventory values win over the config", () => {
    const r = resolveHop({ host: "web1", port: 2222, user: "ops", identityFiles: ["~/inv_key"], proxyJump: "j:1", connectTimeoutMs: 500 }, opts);
    expect(r).toMatchObject({
      hostname: "web1.example.com",
      port: 2222,
      user: "ops",
      identityFiles: [`${home}/inv_key`],
      explicitIdentityFiles: true,
      proxyJump: "j:1",
      connectTimeoutMs: 500,
    });
  });

  it("reads no file when given none, and missing files are fine", () => {
    expect(resolveHop({ host: "web1" }, { ...opts, files: [join(dir, "absent")] })).toMatchObject({ hostname: "web1", port: 22 });
  });

  it("rejects a bad Port clearly", () => {
    const bad = join(dir, "bad");
    writeFileSync(bad, "Host x\n  Port eighty\n");
    expect(() => resolveHop({ host: "x" }, { ...opts, files: [bad] })).toThrow(TransportConfigError);
  });
});

describe("ProxyJump syntax", () => {
  it("parses [user@]host[:port] lists and IPv6 in brackets", () => {
    expect(parseProxyJump("a", "h")).toEqual([{ host: "a" }]);
    expect(parseProxyJump("ops@a:2200,b,[2001:db8::1]:22", "h")).toEqual([
      { host: "a", user: "ops", port: 2200 },
      { host: "b" },
      { host: "2001:db8::1", port: 22 },
    ]);
  });
  it("rejects garbage", () => {
    expect(() => parseProxyJump("a b", "h")).toThrow(/invalid ProxyJump entry/);
    expect(() => parseProxyJump("a:99999", "h")).toThrow(/invalid ProxyJump entry "a:99999"/);
  });
});

describe("known_hosts keywords postfleet cannot honour", () => {
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  it.each([
    ["KnownHostsCommand", "KnownHostsCommand /usr/local/bin/keys %H"],
    ["RevokedHostKeys", "RevokedHostKeys ~/.ssh/revoked"],
  ])("%s is refused with file:line where it applies; none, or a block that does not apply, is fine", (keyword, line) => {
    const f = write(`kw-${keyword}`, `Host skipped\n  ${line}\nHost off\n  ${keyword} none\nHost *\n  ${line}\n`);
    expect(() => resolveHop({ host: "target" }, { ...opts, files: [f] })).toThrow(new RegExp(`${f}:6: ${keyword} applies to target`));
    expect(() => resolveHop({ host: "off" }, { ...opts, files: [f] })).not.toThrow();
    const maybe = write(`kw-maybe-${keyword}`, `Match exec "true"\n  ${line}\n`);
    expect(() => resolveHop({ host: "target" }, { ...opts, files: [maybe] })).toThrow(new RegExp(`${maybe}:2: ${keyword} is set in a block postfleet cannot evaluate`));
  });

  it("CheckHostIP: its first value is kept with where it was set (the connection refuses yes where ssh would use it)", () => {
    const f = write("checkhostip", "Host a\n  CheckHostIP no\nHost *\n  CheckHostIP yes\n");
    expect(resolveHop({ host: "a" }, { ...opts, files: [f] }).checkHostIp).toBeUndefined();
    expect(resolveHop({ host: "b" }, { ...opts, files: [f] }).checkHostIp).toEqual({ file: f, line: 4 });
    expect(() => resolveHop({ host: "b" }, { ...opts, files: [write("checkhostip-bad", "CheckHostIP maybe\n")] })).toThrow(/:1: invalid CheckHostIP "maybe"/);
  });
});
