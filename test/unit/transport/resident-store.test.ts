// The controller's record of resident agents: private files, one per host
// identity; anything malformed or not private reads as "no record".
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ResidentStore, type ResidentEntry, type ResidentKey } from "../../../src/transport/index.js";
import { expectedResidentSocket } from "../../../src/transport/resident-store.js";

const key: ResidentKey = { user: "ops", hostname: "10.0.0.1", port: 22, become: "root", identity: ["SHA256:jump", "SHA256:host"] };
const entry: ResidentEntry = { socketPath: "/home/ops/.cache/postfleet/resident-0.sock", secret: "a".repeat(64), sha256: "b".repeat(64), nodePath: "/usr/bin/node", nodeVersion: "18.20.4" };

describe("ResidentStore", () => {
  it("keeps one private file per host identity, in a private directory", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pf-res-")), "resident");
    const store = new ResidentStore(dir);
    store.set(key, entry);
    expect(store.get(key)).toEqual(entry);
    expect(store.get({ ...key, become: null })).toBeUndefined(); // the same host without become is another agent
    expect(store.get({ ...key, port: 2222 })).toBeUndefined();
    // Another host answering at the same address and port (another jump host, another host key): another record.
    expect(store.get({ ...key, identity: ["SHA256:jump2", "SHA256:host"] })).toBeUndefined();
    expect(store.get({ ...key, identity: ["SHA256:jump", "SHA256:other"] })).toBeUndefined();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [f] = readdirSync(dir);
    expect(statSync(join(dir, f!)).mode & 0o777).toBe(0o600);
    store.delete(key);
    expect(store.get(key)).toBeUndefined();
  });

  it("reads a malformed or group/other-readable record as none", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "pf-res-")), "resident");
    const store = new ResidentStore(dir);
    store.set(key, entry);
    const f = join(dir, readdirSync(dir)[0]!);
    chmodSync(f, 0o644);
    expect(store.get(key)).toBeUndefined();
    writeFileSync(f, JSON.stringify({ ...entry, secret: "short" }), { mode: 0o600 });
    chmodSync(f, 0o600);
    expect(store.get(key)).toBeUndefined();
    writeFileSync(f, "{not json");
    expect(store.get(key)).toBeUndefined();
  });
});

describe("expectedResidentSocket", () => {
  const bundlePath = "/home/ops/.cache/postfleet/agent-" + "b".repeat(64) + ".cjs";
  it("a root agent only in /run/postfleet", () => {
    expect(expectedResidentSocket("/run/postfleet/resident-1000-as-0.sock", { become: "root", bundlePath })).toBe(true);
    // The answer of an agent that was made to choose the login user's cache (a swapped directory), or a foreign one.
    expect(expectedResidentSocket("/home/ops/.cache/postfleet/resident-0-as-0.sock", { become: "root", bundlePath })).toBe(false);
    expect(expectedResidentSocket("/run/postfleet/../../home/ops/x/resident-1000-as-0.sock", { become: "root", bundlePath })).toBe(false);
    expect(expectedResidentSocket("/run/postfleet/resident-1000-as-1000.sock", { become: "root", bundlePath })).toBe(false);
  });
  it("the login user's own agent in the cache its bundle was verified in; root's own in /run/postfleet", () => {
    expect(expectedResidentSocket("/home/ops/.cache/postfleet/resident-1000-as-1000.sock", { become: null, bundlePath })).toBe(true);
    expect(expectedResidentSocket("/home/ops/.cache/postfleet/resident-1000-as-0.sock", { become: null, bundlePath })).toBe(false);
    expect(expectedResidentSocket("/tmp/resident-1000-as-1000.sock", { become: null, bundlePath })).toBe(false);
    expect(expectedResidentSocket("/run/postfleet/resident-0-as-0.sock", { become: null, bundlePath: "/root/.cache/postfleet/agent-x.cjs" })).toBe(true);
    expect(expectedResidentSocket("/run/postfleet/resident-1000-as-0.sock", { become: null, bundlePath })).toBe(false);
  });
});
