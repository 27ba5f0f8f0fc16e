// The postconf read memory also depends on the system values Postfix's
// defaults come from: a new host name (myhostname, mydomain) or a new
// interface address (mynetworks) runs postconf again.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

const system = vi.hoisted(() => ({ hostname: "mx1", address: "192.0.2.1/24" }));
vi.mock("node:os", async (original) => {
  const os = await original<typeof import("node:os")>();
  return {
    ...os,
    hostname: () => system.hostname,
    networkInterfaces: () => ({ eth0: [{ address: system.address.split("/")[0]!, cidr: system.address, netmask: "255.255.255.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: false }] }),
  };
});

const { tmpdir } = await import("node:os");
const { enablePostconfReadCache, readPostconf } = await import("../../../../src/agent/postfix/postconf-cache.js");

const root = mkdtempSync(join(tmpdir(), "pf-pcache-sys-"));
const calls = join(root, "calls");
const postconf = join(root, "postconf");
writeFileSync(postconf, `#!/bin/sh\necho "$*" >> ${calls}\necho "config_directory = ${root}/etc"\n`);
chmodSync(postconf, 0o755);
mkdirSync(join(root, "etc"));
writeFileSync(join(root, "etc", "main.cf"), "a = 1\n");
const count = () => readFileSync(calls, "utf8").trim().split("\n").length;
const read = () => readPostconf([postconf, "-xc", join(root, "etc"), "myhostname"], { env: { PATH: "/usr/bin:/bin" }, capture: true });

describe("postconf read memory and the system", () => {
  it("runs postconf again after the host name or an address changes", async () => {
    enablePostconfReadCache();
    await read();
    await read();
    expect(count()).toBe(1);
    system.hostname = "mx2";
    await read();
    await read();
    expect(count()).toBe(2);
    system.address = "192.0.2.7/24";
    await read();
    expect(count()).toBe(3);
  });
});
