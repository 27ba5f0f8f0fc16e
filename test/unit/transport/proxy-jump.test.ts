// ProxyJump values read as the real `ssh -G` (OpenSSH 9.2p1, Debian 12) reads
// them: the same chain printed, the same values refused (file:line), and the
// hops postfleet connects through are those ssh would use.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TransportConfigError } from "../../../src/transport/errors.js";
import { jumpChain } from "../../../src/transport/jump-chain.js";
import { formatJumpHost, parseJumpHost, readProxyJump } from "../../../src/transport/proxy-jump.js";
import { parseProxyJump, resolveHop } from "../../../src/transport/ssh-config/resolve.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-jump-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const localUser = userInfo().username;

/** ssh -G on `Host *\n  ProxyJump <value>`: the printed proxyjump (undefined: none) or the refused line. */
function sshG(file: string): { proxyjump?: string; refusedLine?: number } {
  const r = spawnSync("ssh", ["-G", "-F", file, "target"], { env: { ...process.env, HOME: dir }, encoding: "utf8" });
  if (r.status !== 0) return { refusedLine: Number(/ line (\d+)/.exec(r.stderr)?.[1]) };
  return { proxyjump: /^proxyjump (.*)$/m.exec(r.stdout)?.[1] };
}

const VALUES = [
  "j", "u@j:2200", "j:2200", "[::1]:22", "[::1]", "::1", "fe80::1", "10.0.0.1", "10.0.0.1:22", "[10.0.0.1]:22",
  "ssh://u@j:2200", "ssh://j", "ssh://j/", "ssh://j:22/", "ssh://u%40x;fingerprint=1@j:22", "ssh://u+v@j", "ssh://%zz@j",
  "ssh://[::1]:22", "ssh://j/path", "ssh://j.", "ssh://j..k", "ssh://-j", "ssh://@j", "SSH://j", "ssh://u@j:0",
  "a,b,c", "a@b@j", "j/2200", "j:ssh", "j:smtp", "j:nosuchservice", "j:0", "j:65535", "j:65536", "j:+22", "j:",
  "@j", "u@", "", "none", "NONE", "None", "none # comment", "j1,j2 # comment", "j1 # a,b", '"j1"', "u@j:2200,ssh://v@k:2",
  "ssh://%C3%A9t%C3%A9@j", "ssh://%ff@j", "j1, j2", "j1,,j2", ",j", "a b,j2", "ok,bad:99999", "x_y.z-1", "=j", "j\t# tab", "[::1]x", "[::1", "j1,ssh://k/p",
];

describe("ProxyJump values agree with ssh -G", () => {
  it.each(VALUES)("ProxyJump %j", (value) => {
    const file = join(dir, `c${VALUES.indexOf(value)}`);
    writeFileSync(file, `Host *\n  ProxyJump ${value}\n`);
    const theirs = sshG(file);
    let ours: string | undefined;
    try {
      ours = resolveHop({ host: "target" }, { files: [file], home: dir, localUser }).proxyJump;
    } catch (e) {
      expect(e).toBeInstanceOf(TransportConfigError);
      // ssh refuses it too (same line), or reads it as a jump host named "none" where postfleet would see no jump.
      if (theirs.refusedLine === undefined) expect(theirs.proxyjump, (e as Error).message).toBe("none");
      else expect((e as Error).message).toContain(`${file}:${theirs.refusedLine}:`);
      return;
    }
    expect(theirs.refusedLine, `ssh refuses ${JSON.stringify(value)}`).toBeUndefined();
    expect(ours).toBe(theirs.proxyjump);
  });
});

describe("jump hosts postfleet connects through", () => {
  it("are the hops of the chain, each read as ssh reads it", () => {
    expect(parseProxyJump("u@j:2200,ssh://v%40w@k:2/,[::1]:22,[10.0.0.1],a@b@c,j:ssh,j:", "h")).toEqual([
      { host: "j", user: "u", port: 2200 },
      { host: "k", user: "v@w", port: 2 },
      { host: "::1", port: 22 },
      { host: "10.0.0.1" },
      { host: "c", user: "a@b" },
      { host: "j", port: 22 },
      { host: "j" },
    ]);
  });

  it("refuses what ssh refuses, and hops with white space", () => {
    for (const bad of ["a b", "j1, j2", "j:99999", "j:0", "@j", "::1", "ssh://j/p", "ssh://[::1]", "a,,b", ""]) {
      expect(() => parseProxyJump(bad, "h"), bad).toThrow(/invalid ProxyJump entry/);
    }
  });

  it("formats a hop as ssh -G prints it", () => {
    expect(formatJumpHost({ host: "::1", port: 22 })).toBe("[::1]:22");
    expect(formatJumpHost({ host: "10.0.0.1" })).toBe("[10.0.0.1]");
    expect(formatJumpHost({ host: "j", user: "u" })).toBe("u@j");
    expect(parseJumpHost("ssh://j.")).toEqual({ host: "j" });
    expect(parseJumpHost("ssh://%C3%A9t%C3%A9+x;p=1@j")).toEqual({ host: "j", user: "été x" });
    expect(parseJumpHost("ssh://€%41@j")).toEqual({ host: "j", user: "€A" });
    expect(parseJumpHost("ssh://%4@j")).toBeNull();
  });

  it("reads ProxyJump none (alone) as no jump, and none from the inventory hides the file's jump host", () => {
    expect(readProxyJump("none")).toEqual({ ok: true, spec: "none" });
    expect(readProxyJump("none # c")).toMatchObject({ ok: true, spec: "none", unusable: expect.stringMatching(/jump host named "none"/) });
    // Refused only where it applies: ssh accepts the line elsewhere.
    const elsewhere = join(dir, "none-elsewhere");
    writeFileSync(elsewhere, "Host other\n  ProxyJump none # c\n");
    expect(resolveHop({ host: "t" }, { files: [elsewhere], home: dir, localUser }).proxyJump).toBeUndefined();
    expect(() => resolveHop({ host: "other" }, { files: [elsewhere], home: dir, localUser })).toThrow(/jump host named "none"/);
    const file = join(dir, "inv");
    writeFileSync(file, "Host *\n  ProxyJump bastion\n");
    expect(resolveHop({ host: "t" }, { files: [file], home: dir, localUser }).proxyJump).toBe("bastion");
    expect(resolveHop({ host: "t", proxyJump: "none" }, { files: [file], home: dir, localUser }).proxyJump).toBeUndefined();
    expect(resolveHop({ host: "t", proxyJump: "other:2" }, { files: [file], home: dir, localUser }).proxyJump).toBe("other:2");
  });
});

/**
 * The hops ssh goes through to reach `host`, in order, from `ssh -v`: each
 * proxy command `ssh ... -W '[X]:port' Y` says Y comes just before X (the
 * first hop's name is unresolvable, so nothing is connected).
 */
function sshHops(file: string, host: string): string[] | { refused: string } {
  const r = spawnSync("ssh", ["-v", "-F", file, "-o", "BatchMode=yes", host, "true"], { env: { ...process.env, HOME: dir }, encoding: "utf8", timeout: 20_000 });
  const loop = /jumphost loop via (\S+)/.exec(r.stderr);
  if (loop) return { refused: loop[0] };
  const before = new Map<string, string>();
  for (const m of r.stderr.matchAll(/Executing proxy command: exec ssh .* -W '\[([^\]]+)\]:\d+' (\S+)$/gm)) before.set(m[1]!, m[2]!);
  const hops: string[] = [];
  for (let h = before.get(host); h !== undefined; h = before.get(h)) hops.unshift(h);
  return hops;
}

describe("a jump host's own ProxyJump, as ssh follows it", () => {
  const file = join(dir, "chain");
  writeFileSync(
    file,
    [
      "Host j1\n  ProxyJump ops@j0.invalid:2222\n",
      "Host j2\n  ProxyJump skipped.invalid\n",
      "Host t1\n  ProxyJump j1\n",
      "Host t2\n  ProxyJump j1,j2\n",
      "Host t3\n  ProxyJump j2\n",
      "Host t4\n  ProxyJump lp\nHost lp\n  ProxyJump lp\n",
      "Host t5\n  ProxyJump c1\nHost c1\n  ProxyJump c2\nHost c2\n  ProxyJump c1\n",
    ].join(""),
  );
  const opts = { files: [file], home: dir, localUser };
  const ours = (host: string) => {
    const spec = resolveHop({ host }, opts).proxyJump!;
    return jumpChain(spec, host, opts).map((j) => j.host);
  };

  it.each(["t1", "t2", "t3"])("%s: the first hop's own chain comes before it, later hops' own ProxyJump is overridden", (host) => {
    const theirs = sshHops(file, host);
    expect(Array.isArray(theirs), JSON.stringify(theirs)).toBe(true);
    expect((theirs as string[]).length).toBeGreaterThan(1);
    expect(ours(host)).toEqual(theirs);
  });

  it("keeps each hop's own settings (user and port of the innermost one)", () => {
    const [j0] = jumpChain("j1", "t1", opts);
    expect(j0!.settings).toMatchObject({ hostname: "j0.invalid", user: "ops", port: 2222 });
  });

  it("a jump host that jumps through itself is refused (ssh: jumphost loop); so is a longer loop", () => {
    expect(sshHops(file, "t4")).toEqual({ refused: "jumphost loop via lp" });
    expect(() => ours("t4")).toThrow(/jump host lp is reached through its own ProxyJump "lp".*Host \* !lp/);
    expect(() => ours("t5")).toThrow(TransportConfigError);
  });
});
