// known_hosts at fleet scale: every host of a run looks its name up in the same
// file, so a lookup must not re-read and match the whole file (n² for n hosts).
// Counted, not timed: files parsed and entries matched against a name.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateUsableKeyPair } from "../../../src/lab/keys.js";
import { hashHostName, knownHostsName, knownHostsWork, knownKeyTypes, verifyHostKey } from "../../../src/transport/known-hosts.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-kh-scale-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = () => {
  const [type, blob] = generateUsableKeyPair("ed25519").public.split(/\s+/);
  return { line: `${type} ${blob}`, blob: Buffer.from(blob!, "base64") };
};

describe("known_hosts lookups at 10,000 hosts", () => {
  const N = 10_000;
  const k = key();
  const other = key();
  const file = join(dir, "known_hosts");
  // 10,000 plain entries, plus a wildcard and a hashed entry (those are tried for every lookup).
  writeFileSync(
    file,
    Array.from({ length: N }, (_, i) => `${knownHostsName("127.0.0.1", 10_000 + i)} ${k.line}\n`).join("") +
      `*.example.net ${other.line}\n${hashHostName("hashed.example.net")} ${other.line}\n`,
  );
  const verify = (host: string, port: number, blob: Buffer, checking: "strict" | "accept-new" = "strict") =>
    verifyHostKey({ hostLabel: host, host, port, key: blob, file, checking });

  it("parses the file once and matches each name against its own entries and the patterned ones only", () => {
    const before = { ...knownHostsWork };
    const outcomes = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const o = `${knownKeyTypes(knownHostsName("127.0.0.1", 10_000 + i), [file]).join()} ${verify("127.0.0.1", 10_000 + i, k.blob).status}`;
      outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
    }
    expect([...outcomes]).toEqual([["ssh-ed25519 ok", N]]);
    expect(knownHostsWork.parses - before.parses).toBe(1);
    // Per host: its own entry and the 2 patterned ones, once (was: all 10,002 entries, re-read, per lookup).
    expect(knownHostsWork.matched - before.matched).toBeLessThanOrEqual(N * 3);
  });

  it("still finds wildcard and hashed entries, and a name's entries in file order", () => {
    expect(verify("a.example.net", 22, other.blob).status).toBe("ok");
    expect(verify("hashed.example.net", 22, other.blob).status).toBe("ok");
    expect(() => verify("127.0.0.1", 10_005, other.blob)).toThrow(/CHANGED/);
  });

  it("reads the file again when it changes (accept-new appends, another process edits it)", () => {
    const before = knownHostsWork.parses;
    const added = verify("new.example.org", 2222, k.blob, "accept-new");
    expect(added.status).toBe("added");
    expect(verify("new.example.org", 2222, k.blob).status).toBe("ok");
    appendFileSync(file, `${knownHostsName("late.example.org", 22)} ${k.line}\n`);
    expect(verify("late.example.org", 22, k.blob).status).toBe("ok");
    expect(knownHostsWork.parses - before).toBe(2);
  });
});
