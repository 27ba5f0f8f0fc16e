import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { generateLoginKey, generateUsableKeyPair } from "../../../src/lab/keys.js";

describe("lab login keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // ssh2 alone gets about 1 in 256 wrong: 3000 keys without one failure
  // would happen by chance about once in 100,000 runs.
  it("every generated ed25519 key reads back (3000 keys)", () => {
    const bad: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const parsed = ssh2.utils.parseKey(generateUsableKeyPair("ed25519", { comment: "t" }).private);
      if (parsed instanceof Error) bad.push(parsed.message);
    }
    expect(bad).toEqual([]);
  });

  it("an encrypted key reads back with its passphrase", () => {
    const pair = generateUsableKeyPair("ed25519", { passphrase: "pw", cipher: "aes256-ctr", rounds: 2 });
    expect(ssh2.utils.parseKey(pair.private, "pw")).not.toBeInstanceOf(Error);
  });

  it("the login key file is private and matches its public half", () => {
    const k = generateLoginKey(dir);
    expect(statSync(k.privateKeyPath).mode & 0o777).toBe(0o600);
    const parsed = ssh2.utils.parseKey(readFileSync(k.privateKeyPath));
    if (parsed instanceof Error) throw parsed;
    const key = Array.isArray(parsed) ? parsed[0]! : parsed;
    expect(k.publicKey.split(" ")[1]).toBe(key.getPublicSSH().toString("base64"));
  });
});
