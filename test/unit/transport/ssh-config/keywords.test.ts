// The keyword list and IgnoreUnknown checked against the real `ssh -G`
// (OpenSSH 9.2p1, Debian 12): ssh's keywords are accepted in any case, others
// are refused at the same file and line as ssh refuses them, unless an
// IgnoreUnknown seen before (and applying) matches them.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TransportConfigError } from "../../../../src/transport/errors.js";
import { evaluateSshConfig } from "../../../../src/transport/ssh-config/evaluate.js";
import { closestSshConfigKeyword, isSshConfigKeyword, SSH_CONFIG_KEYWORDS } from "../../../../src/transport/ssh-config/keywords.js";

const root = mkdtempSync(join(tmpdir(), "postfleet-sshkw-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const localUser = userInfo().username;

let count = 0;
/** Writes the files (relative to a fresh home; `.ssh/config` is the one read) and returns the config's path. */
function write(files: Record<string, string>): { home: string; file: string } {
  const home = join(root, `h${count++}`);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(home, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text, { mode: 0o644 });
  }
  return { home, file: join(home, ".ssh", "config") };
}

/** ssh -G's verdict: undefined when it accepts, else "file:line" of its first refusal (its "Unsupported option" notes are not refusals). */
function sshVerdict(home: string, file: string, host: string): { refusedAt?: string; stderr: string } {
  const r = spawnSync("ssh", ["-G", "-F", file, host], { env: { ...process.env, HOME: home }, encoding: "utf8" });
  if (r.status === 0) return { stderr: r.stderr };
  const line = r.stderr.split("\n").find((l) => / line \d+/.test(l) && !/Unsupported option/.test(l));
  const m = /^(\S+?):? line (\d+)/.exec(line ?? "");
  if (!m) throw new Error(`ssh -G refused without a line: ${r.stderr}`);
  return { refusedAt: `${m[1]}:${m[2]}`, stderr: r.stderr };
}

/** Our verdict on the same files: undefined when accepted, else the error. */
function ourVerdict(home: string, file: string, host: string): TransportConfigError | undefined {
  try {
    evaluateSshConfig({ host, localUser, home, files: [{ path: file, scope: "user" }] });
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(TransportConfigError);
    return e as TransportConfigError;
  }
}

/** Both accept, or both refuse at the same file:line. Returns our error. */
function agree(files: Record<string, string>, host = "h"): TransportConfigError | undefined {
  const { home, file } = write(files);
  const theirs = sshVerdict(home, file, host);
  const ours = ourVerdict(home, file, host);
  const label = JSON.stringify(files);
  if (theirs.refusedAt === undefined) expect(ours?.message, label).toBeUndefined();
  else expect(ours?.message ?? "accepted", `${label}\nssh: ${theirs.stderr}`).toContain(`${theirs.refusedAt}:`);
  return ours;
}

describe("ssh_config keywords", () => {
  it("every listed keyword is one ssh -G knows, in the listed case, lowercase and upper case, with = too", () => {
    expect(SSH_CONFIG_KEYWORDS.length).toBe(131);
    expect(new Set(SSH_CONFIG_KEYWORDS.map((k) => k.toLowerCase())).size).toBe(SSH_CONFIG_KEYWORDS.length);
    let checked = 0;
    for (const k of SSH_CONFIG_KEYWORDS) {
      for (const written of [k, k.toLowerCase(), k.toUpperCase()]) {
        // In a block that does not apply: ssh still looks the keyword up (and checks the value, which we do not ask).
        const { home, file } = write({ ".ssh/config": `Host nomatch\n  ${written}${checked % 2 ? "=" : " "}x\n` });
        const theirs = sshVerdict(home, file, "h");
        expect(theirs.stderr, written).not.toMatch(/Bad configuration option/);
        const ours = ourVerdict(home, file, "h");
        expect(ours?.message ?? "", written).not.toMatch(/unknown keyword/);
        expect(isSshConfigKeyword(written)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(3 * SSH_CONFIG_KEYWORDS.length);
  }, 180_000);

  it("no keyword ssh knows is missing: every lowercase word in the ssh binary (and its suffixes, which the linker may share) not listed is refused by ssh -G", () => {
    const binary = spawnSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).stdout.trim();
    const words = new Set<string>();
    for (const run of readFileSync(binary).toString("latin1").match(/[a-z0-9]{4,40}/g) ?? []) {
      for (let i = 0; i + 4 <= run.length; i++) if (/^[a-z]/.test(run.slice(i))) words.add(run.slice(i));
    }
    const candidates = [...words].filter((w) => !isSshConfigKeyword(w));
    expect(candidates.length).toBeGreaterThan(1000);
    const notRefused: string[] = [];
    for (let i = 0; i < candidates.length; i += 500) {
      const batch = candidates.slice(i, i + 500);
      // ssh reports every bad line of a file before it gives up.
      const { home, file } = write({ ".ssh/config": batch.map((w) => `${w} x\n`).join("") });
      const { stderr } = sshVerdict(home, file, "h");
      const refused = new Set([...stderr.matchAll(/Bad configuration option: (\S+)/g)].map((m) => m[1]));
      notRefused.push(...batch.filter((w) => !refused.has(w)));
    }
    expect(notRefused).toEqual([]);
  }, 180_000);

  it("misspelt and foreign keywords are refused where ssh refuses them (file:line), even in blocks that do not apply", () => {
    const wrong = [
      "HostNmae", "Hostnam", "Usr", "Prot", "IdentityFiles", "ProxyJumps", "StrictHostKeyCheck", "ConectTimeout",
      "UserKnownHostFile", "Foo", "X11Forwarding", "PermitRootLogin", "UseDNS",
      "IgnoreUnknowns", "Includes", "Hosts", "Matches",
    ];
    for (const [i, k] of wrong.entries()) {
      // The misspelling sits at a different line each time, after lines ssh accepts (a note-only option among them).
      const padding = "Host a\n  ForwardAgent yes\n  RSAAuthentication no\n".repeat(i % 3);
      const ours = agree({ ".ssh/config": `${padding}Host nomatch\n  ${k} value\nHost *\n  User u\n` });
      expect(ours?.message, k).toMatch(new RegExp(`unknown keyword "${k}"`));
      expect(ours?.host).toBe("h");
    }
  });

  it("a refusal suggests the keyword meant", () => {
    expect(closestSshConfigKeyword("HostNmae")).toBe("HostName");
    expect(closestSshConfigKeyword("proxyjumps")).toBe("ProxyJump");
    expect(closestSshConfigKeyword("conecttimeout")).toBe("ConnectTimeout");
    expect(closestSshConfigKeyword("zzzzzz")).toBeUndefined();
    const { file } = write({ ".ssh/config": "Host *\n  HostNmae real.example.com\n" });
    const e = ourVerdict(dirname(dirname(file)), file, "web1");
    expect(e?.message).toContain(`${file}:2: unknown keyword "HostNmae" (did you mean HostName?)`);
  });

  it("a keyword of a later OpenSSH or of Apple's ssh is let through (the operator's own ssh may be that one), where ssh 9.2 refuses it", () => {
    for (const k of ["UseKeychain", "ChannelTimeout", "Tag", "WarnWeakCrypto"]) {
      const f = write({ ".ssh/config": `Host *\n  ${k} x\n  User u\n` });
      expect(sshVerdict(f.home, f.file, "h").refusedAt, k).toBe(`${f.file}:2`);
      expect(ourVerdict(f.home, f.file, "h"), k).toBeUndefined();
    }
    // A misspelling of one is still refused.
    const typo = write({ ".ssh/config": "Host *\n  UseKeychian yes\n" });
    expect(ourVerdict(typo.home, typo.file, "h")?.message).toMatch(/unknown keyword "UseKeychian"/);
  });

  it("a keyword without a value is refused like ssh, known or not", () => {
    for (const k of ["ForwardAgent", "Foo", "IgnoreUnknown"]) {
      expect(agree({ ".ssh/config": `Host nomatch\n  ${k}\n` })?.message, k).toMatch(/no argument after keyword/);
    }
  });
});

describe("IgnoreUnknown agrees with ssh -G", () => {
  const cases: [string, Record<string, string>, "accepted" | "refused", string?][] = [
    ["before the unknown keyword", { ".ssh/config": "IgnoreUnknown foo\nfoo 1\n" }, "accepted"],
    ["after it (too late)", { ".ssh/config": "foo 1\nIgnoreUnknown foo\n" }, "refused"],
    ["patterns and case (patterns are lowercased)", { ".ssh/config": "IgnoreUnknown Bar,FO*\nFoO 1\nbar=2\n" }, "accepted"],
    ["a ? wildcard", { ".ssh/config": "IgnoreUnknown site?olicy\nSitePolicy yes\n" }, "accepted"],
    ["negation excludes", { ".ssh/config": "IgnoreUnknown !foo,*\nbar 1\nfoo 1\n" }, "refused"],
    ["negation alone matches nothing", { ".ssh/config": "IgnoreUnknown !foo\nbar 1\n" }, "refused"],
    ["first value wins", { ".ssh/config": "IgnoreUnknown bar\nIgnoreUnknown foo\nfoo 1\n" }, "refused"],
    ["IgnoreUnknown=value form", { ".ssh/config": "IgnoreUnknown=foo\nfoo=1\n" }, "accepted"],
    ["one value only", { ".ssh/config": "IgnoreUnknown foo bar\n" }, "refused"],
    ["does not excuse a bad value of a known keyword", { ".ssh/config": "IgnoreUnknown *\nPort x\n" }, "refused"],
    ["in a Host block that applies", { ".ssh/config": "Host h\n  IgnoreUnknown foo\nHost *\n  foo 1\n" }, "accepted"],
    ["in a Host block that does not apply", { ".ssh/config": "Host x\n  IgnoreUnknown foo\nHost *\n  foo 1\n" }, "refused"],
    ["in a Host block that does not apply, the unknown keyword too", { ".ssh/config": "Host x\n  IgnoreUnknown foo\n  foo 1\n" }, "refused"],
    ["in a Match block", { ".ssh/config": "Match originalhost h\n  IgnoreUnknown foo\nfoo 1\n" }, "accepted"],
    ["in Match final (the first pass already refused)", { ".ssh/config": "Match final\n  IgnoreUnknown foo\nHost *\n  foo 1\n" }, "refused"],
    ["from an Include before", { ".ssh/config": "Include inc.conf\nfoo 1\n", ".ssh/inc.conf": "IgnoreUnknown foo\n" }, "accepted"],
    ["for an included file after it", { ".ssh/config": "IgnoreUnknown foo\nInclude inc.conf\n", ".ssh/inc.conf": "Host *\n  foo 1\n" }, "accepted"],
    ["an included file's unknown keyword, refused at its own line", { ".ssh/config": "Include inc.conf\n", ".ssh/inc.conf": "Host *\n  foo 1\n" }, "refused"],
    ["an Include inside a block that does not apply", { ".ssh/config": "Host x\n  Include inc.conf\nfoo 1\n", ".ssh/inc.conf": "IgnoreUnknown foo\n" }, "refused"],
  ];
  for (const [name, files, verdict] of cases) {
    it(name, () => {
      const ours = agree(files);
      expect(ours === undefined ? "accepted" : "refused").toBe(verdict);
    });
  }

  it("an IgnoreUnknown postfleet cannot tell applies (Match exec) is refused only when it decides", () => {
    const exec = 'Match exec "true"\n  IgnoreUnknown foo\n';
    const { home, file } = write({ ".ssh/config": `${exec}Host *\n  foo 1\n` });
    expect(ourVerdict(home, file, "h")?.message).toMatch(new RegExp(`${file}:4: unknown keyword "foo": whether ssh ignores it depends on an IgnoreUnknown in a block postfleet cannot evaluate \\(${file}:1: Match exec\\)`));
    // Both possible values ignore it, or neither does: no doubt.
    const both = write({ ".ssh/config": `${exec}Host *\n  IgnoreUnknown foo\n  foo 1\n` });
    expect(ourVerdict(both.home, both.file, "h")).toBeUndefined();
    const neither = write({ ".ssh/config": `${exec}bar 1\n` });
    expect(ourVerdict(neither.home, neither.file, "h")?.message).toContain(`${neither.file}:3: unknown keyword "bar"`);
  });

  it("carries over from ~/.ssh/config to the system file", () => {
    const { home, file } = write({ ".ssh/config": "IgnoreUnknown sitepolicy\n", "sys/ssh_config": "Host *\n  SitePolicy yes\n" });
    const sys = join(home, "sys", "ssh_config");
    expect(() => evaluateSshConfig({ host: "h", localUser, home, files: [{ path: file, scope: "user" }, { path: sys, scope: "system" }] })).not.toThrow();
    expect(() => evaluateSshConfig({ host: "h", localUser, home, files: [{ path: sys, scope: "system" }] })).toThrow(`${sys}:2: unknown keyword "SitePolicy"`);
  });
});
