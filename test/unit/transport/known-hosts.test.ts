// known_hosts parsing and host key verification, checked against OpenSSH's
// own ssh-keygen where it has an opinion (hashing, fingerprints, lookups).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostKeyError } from "../../../src/transport/errors.js";
import { generateUsableKeyPair } from "../../../src/lab/keys.js";
import {
  entryMatches,
  fingerprintSha256,
  hashHostName,
  knownHostsLookupName,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
} from "../../../src/transport/known-hosts.js";

function newKey(type: "ed25519" | "ecdsa" = "ed25519"): { line: string; blob: Buffer } {
  const pub = generateUsableKeyPair(type, type === "ecdsa" ? { bits: 256 } : {}).public;
  const [t, b] = pub.split(/\s+/);
  return { line: `${t} ${b}`, blob: Buffer.from(b!, "base64") };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-kh-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(content: string): string {
  const f = join(dir, `kh${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, content);
  return f;
}

describe("known_hosts parsing and matching", () => {
  const k = newKey();

  it("matches plain names, comma lists, [host]:port, wildcards and negations", () => {
    const text = [
      `mta1.example.com,192.0.2.1 ${k.line}`,
      `[mta2.example.com]:2222 ${k.line} comment here`,
      `*.mx.example.com,!bad.mx.example.com ${k.line}`,
      `mta?.test ${k.line}`,
    ].join("\n");
    const { entries, problems } = parseKnownHosts(text, "f");
    expect(problems).toEqual([]);
    const matches = (name: string) => entries.filter((e) => entryMatches(e, name)).map((e) => e.line);
    expect(matches("mta1.example.com")).toEqual([1]);
    expect(matches("192.0.2.1")).toEqual([1]);
    expect(matches("MTA1.Example.COM")).toEqual([1]);
    expect(matches(knownHostsName("mta2.example.com", 2222))).toEqual([2]);
    expect(matches("mta2.example.com")).toEqual([]);
    expect(matches("a.mx.example.com")).toEqual([3]);
    expect(matches("bad.mx.example.com")).toEqual([]);
    expect(matches("[a.mx.example.com]:2222")).toEqual([]);
    expect(matches("mta7.test")).toEqual([4]);
    expect(matches("mta77.test")).toEqual([]);
  });

  it("reads markers and reports malformed lines with their line numbers", () => {
    const text = `# comment\n\n@revoked host1 ${k.line}\n@cert-authority *.example.com ${k.line}\n@bogus h ${k.line}\nonlyname\nhost ssh-ed25519 !!!notbase64\n|1|abc host ${k.line}\n`;
    const { entries, problems } = parseKnownHosts(text, "kh");
    expect(entries.map((e) => [e.line, e.marker])).toEqual([
      [3, "revoked"],
      [4, "cert-authority"],
    ]);
    expect(problems.map((p) => p.line)).toEqual([5, 6, 7, 8]);
  });

  it("hashes names exactly as ssh-keygen -H does, and reads ssh-keygen's hashed lines", () => {
    const f = file(`[127.0.0.1]:2222 ${k.line}\nmta1.example.com ${k.line}\n`);
    execFileSync("ssh-keygen", ["-H", "-f", f], { stdio: "ignore" });
    const { entries } = parseKnownHosts(readFileSync(f, "utf8"), f);
    expect(entries.every((e) => e.hashed)).toBe(true);
    expect(entries.filter((e) => entryMatches(e, "[127.0.0.1]:2222")).map((e) => e.line)).toEqual([1]);
    expect(entries.filter((e) => entryMatches(e, "mta1.example.com")).map((e) => e.line)).toEqual([2]);
    expect(entries.filter((e) => entryMatches(e, "127.0.0.1")).length).toBe(0);

    const ours = file(`${hashHostName("[10.1.2.3]:2200")} ${k.line}\n`);
    expect(execFileSync("ssh-keygen", ["-F", "[10.1.2.3]:2200", "-f", ours]).toString()).toContain(k.line);
  });

  it("computes the SHA256 fingerprint as ssh-keygen -l does", () => {
    const f = file(`${k.line}\n`);
    const theirs = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", f]).toString().split(/\s+/)[1];
    expect(fingerprintSha256(k.blob)).toBe(theirs);
  });
});

describe("verifyHostKey", () => {
  const k = newKey();
  const other = newKey();
  const base = { hostLabel: "mta01", host: "127.0.0.1", port: 2222, globalFiles: [] as string[] };

  it("accepts the known key", () => {
    const f = file(`[127.0.0.1]:2222 ${k.line}\n`);
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" }).status).toBe("ok");
  });

  it("refuses a changed key naming file:line, both fingerprints and the fix; off accepts it with a warning", () => {
    const f = file(`# first\nsomewhere ${other.line}\n[127.0.0.1]:2222 ${other.line}\n`);
    let err: HostKeyError | undefined;
    try {
      verifyHostKey({ ...base, key: k.blob, file: f, checking: "accept-new" });
    } catch (e) {
      err = e as HostKeyError;
    }
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err!.reason).toBe("changed");
    expect(err!.message).toContain(`${f}:3`);
    expect(err!.message).toContain(fingerprintSha256(k.blob));
    expect(err!.message).toContain(fingerprintSha256(other.blob));
    expect(err!.message).toContain(`ssh-keygen -R '[127.0.0.1]:2222'`);
    const off = verifyHostKey({ ...base, key: k.blob, file: f, checking: "off" });
    expect(off).toMatchObject({ status: "accepted-unverified", key: { presented: "changed", fingerprint: fingerprintSha256(k.blob) } });
    const unknown = verifyHostKey({ ...base, key: k.blob, file: file(""), checking: "off" });
    expect(unknown).toMatchObject({ status: "accepted-unverified", key: { presented: "unknown" } });
  });

  it("refuses a revoked key whatever the checking mode", () => {
    const f = file(`@revoked * ${k.line}\n[127.0.0.1]:2222 ${k.line}\n`);
    for (const checking of ["strict", "accept-new", "off"] as const) {
      expect(() => verifyHostKey({ ...base, key: k.blob, file: f, checking })).toThrow(/@revoked in .*:1/);
    }
  });

  it("explains that a host vouched for by @cert-authority only showed a plain key (ssh2 negotiates no certificates)", () => {
    const f = file(`@cert-authority [127.0.0.1]:* ${other.line}\n`);
    expect(() => verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" })).toThrow(
      /only an @cert-authority line vouches for \[127\.0\.0\.1\]:2222, and postfleet's SSH library \(ssh2\) cannot negotiate certificate host keys/,
    );
  });

  it("strict refuses unknown hosts; accept-new appends a plain entry (creating the file) that then verifies", () => {
    const f = join(dir, "new", "known_hosts");
    expect(() => verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" })).toThrow(/not known in .*known_hosts \(presented ssh-ed25519 SHA256:/);
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "accept-new" })).toMatchObject({ status: "added" });
    expect(readFileSync(f, "utf8")).toBe(`[127.0.0.1]:2222 ${k.line}\n`);
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" }).status).toBe("ok");
  });

  it("accept-new on a file whose last line has no newline keeps both entries intact", () => {
    const f = file(`10.0.0.9 ${other.line}`); // no trailing newline
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "accept-new" })).toMatchObject({ status: "added" });
    expect(readFileSync(f, "utf8")).toBe(`10.0.0.9 ${other.line}\n[127.0.0.1]:2222 ${k.line}\n`);
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" }).status).toBe("ok");
    expect(verifyHostKey({ ...base, host: "10.0.0.9", port: 22, key: other.blob, file: f, checking: "strict" }).status).toBe("ok");
  });

  it("accept-new writes a hashed entry when asked (HashKnownHosts yes) that ssh-keygen finds", () => {
    const f = join(dir, "hashed_known_hosts");
    verifyHostKey({ ...base, key: k.blob, file: f, checking: "accept-new", hashNew: true });
    expect(readFileSync(f, "utf8")).toMatch(/^\|1\|[^ ]+ ssh-ed25519 /);
    expect(execFileSync("ssh-keygen", ["-F", "[127.0.0.1]:2222", "-f", f]).toString()).toContain(k.line);
    expect(verifyHostKey({ ...base, key: k.blob, file: f, checking: "strict" }).status).toBe("ok");
  });

  it("consults global files read-only, and lists known key types for algorithm preference", () => {
    const g = file(`[127.0.0.1]:2222 ${k.line}\n`);
    const user = join(dir, "absent");
    expect(verifyHostKey({ ...base, key: k.blob, file: user, checking: "strict", globalFiles: [g] }).status).toBe("ok");
    const ec = newKey("ecdsa");
    const both = file(`[127.0.0.1]:2222 ${ec.line}\n[127.0.0.1]:2222 ${k.line}\n`);
    expect(knownKeyTypes(knownHostsLookupName("127.0.0.1", 2222), [both])).toEqual(["ecdsa-sha2-nistp256", "ssh-ed25519"]);
  });

  it("HostKeyAlias: looks up and records the alias as is (no port), as ssh does; the address's own entry does not count", () => {
    const other = newKey();
    // A wrong key pinned under the alias: refused (ssh: REMOTE HOST IDENTIFICATION HAS CHANGED), even in accept-new.
    const f = file(`mx-alias ${other.line}\n[127.0.0.1]:2222 ${k.line}\n`);
    for (const checking of ["strict", "accept-new"] as const) {
      expect(() => verifyHostKey({ ...base, hostKeyAlias: "mx-alias", key: k.blob, file: f, checking })).toThrow(/host key for mx-alias has CHANGED/);
    }
    expect(knownKeyTypes(knownHostsLookupName("127.0.0.1", 2222, "mx-alias"), [f])).toEqual(["ssh-ed25519"]);
    // accept-new adds the alias; ssh-keygen finds it under that name, and the next check is ok.
    const g = join(dir, "alias_known_hosts");
    expect(verifyHostKey({ ...base, hostKeyAlias: "mx-alias", key: k.blob, file: g, checking: "accept-new" })).toMatchObject({ status: "added" });
    expect(readFileSync(g, "utf8")).toBe(`mx-alias ${k.line}\n`);
    expect(execFileSync("ssh-keygen", ["-F", "mx-alias", "-f", g]).toString()).toContain(k.line);
    expect(verifyHostKey({ ...base, hostKeyAlias: "mx-alias", key: k.blob, file: g, checking: "strict" }).status).toBe("ok");
  });

  it("a port other than 22 with nothing under [host]:port: the same key under the bare name verifies (as ssh checks without the port); another key or a revoked one there does not", () => {
    const other = newKey();
    expect(verifyHostKey({ ...base, key: k.blob, file: file(`127.0.0.1 ${k.line}\n`), checking: "strict" }).status).toBe("ok");
    expect(() => verifyHostKey({ ...base, key: k.blob, file: file(`127.0.0.1 ${other.line}\n`), checking: "strict" })).toThrow(/not known/);
    expect(() => verifyHostKey({ ...base, key: k.blob, file: file(`@revoked 127.0.0.1 ${k.line}\n127.0.0.1 ${k.line}\n`), checking: "strict" })).toThrow(/not known/);
    // A key recorded under [host]:port decides alone, and an alias is looked up as is.
    expect(() => verifyHostKey({ ...base, key: k.blob, file: file(`127.0.0.1 ${k.line}\n[127.0.0.1]:2222 ${other.line}\n`), checking: "strict" })).toThrow(/CHANGED/);
    expect(() => verifyHostKey({ ...base, hostKeyAlias: "al", key: k.blob, file: file(`127.0.0.1 ${k.line}\n`), checking: "strict" })).toThrow(/not known/);
  });

  it("no user known_hosts file (UserKnownHostsFile none): a known key verifies, an unknown one is refused in every mode, as ssh refuses it", () => {
    const g = file(`[127.0.0.1]:2222 ${k.line}\n`);
    expect(verifyHostKey({ ...base, key: k.blob, file: undefined, checking: "strict", globalFiles: [g] }).status).toBe("ok");
    for (const checking of ["strict", "accept-new", "off"] as const) {
      expect(() => verifyHostKey({ ...base, host: "10.9.9.9", key: k.blob, file: undefined, checking, globalFiles: [g] })).toThrow(
        /not known in .*, and ssh would not add it \(UserKnownHostsFile none\)/,
      );
    }
  });

  it("a host name ssh will not write to known_hosts: an unknown key is refused even in accept-new and off", () => {
    const f = join(dir, "never_written");
    for (const checking of ["accept-new", "off"] as const) {
      expect(() => verifyHostKey({ ...base, host: "a*b", key: k.blob, file: f, checking })).toThrow(/cannot be written to known_hosts/);
    }
    expect(existsSync(f)).toBe(false);
  });
});
