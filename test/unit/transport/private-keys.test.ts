// Key loading (encrypted keys, passphrase sources, caching) and the error classes.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuthError, HostKeyError, UnreachableError } from "../../../src/transport/errors.js";
import { KeyStore } from "../../../src/transport/private-keys.js";
import { generateUsableKeyPair } from "../../../src/lab/keys.js";

const dir = mkdtempSync(join(tmpdir(), "postfleet-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const encrypted = join(dir, "enc");
writeFileSync(encrypted, generateUsableKeyPair("ed25519", { passphrase: "s3cret", cipher: "aes256-ctr", rounds: 2 }).private);
const plain = join(dir, "plain");
writeFileSync(plain, generateUsableKeyPair("ed25519").private);

describe("KeyStore", () => {
  it("decrypts an encrypted key, asking its passphrase once per run", async () => {
    const asked: string[] = [];
    const store = new KeyStore(async (f) => (asked.push(f), "s3cret"));
    const a = await store.load(encrypted, "h1", true);
    const b = await store.load(encrypted, "h2", true);
    expect(a?.key.type).toBe("ssh-ed25519");
    expect(b).toBe(a);
    expect(asked).toEqual([encrypted]);
  });

  it("says what to do when no passphrase is available, and never prints a wrong one", async () => {
    const none = new KeyStore(async () => undefined);
    await expect(none.load(encrypted, "h", true)).rejects.toThrow(/encrypted and no passphrase is available: set POSTFLEET_SSH_KEY_PASSPHRASE/);
    const wrong = new KeyStore(async () => "guess-123");
    const e = await wrong.load(encrypted, "h", true).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AuthError);
    expect((e as Error).message).toMatch(/wrong passphrase/);
    expect((e as Error).message).not.toContain("guess-123");
    // Optional (default) keys that cannot be used are skipped, not fatal.
    expect(await none.load(encrypted, "h", false)).toBeNull();
  });

  it("returns null for a missing file and rejects a file that is not a key", async () => {
    const store = new KeyStore(async () => undefined);
    expect(await store.load(join(dir, "absent"), "h", true)).toBeNull();
    const junk = join(dir, "junk");
    writeFileSync(junk, "hello\n");
    await expect(store.load(junk, "h", true)).rejects.toThrow(/not a usable private key/);
    expect((await store.load(plain, "h", true))?.file).toBe(plain);
  });
});

describe("error classes", () => {
  it("marks only UnreachableError as unreachable", () => {
    expect(new UnreachableError("h", "x").unreachable).toBe(true);
    expect(new AuthError("h", "x").unreachable).toBe(false);
    const hk = new HostKeyError("h", "x", "changed");
    expect([hk.unreachable, hk.code, hk.name, hk.host]).toEqual([false, "host-key", "HostKeyError", "h"]);
  });
});
