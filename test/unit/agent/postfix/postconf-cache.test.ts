// The long-running agent's memory of postconf reads: a second read of an
// unchanged main.cf runs nothing; any change to main.cf (or to postconf)
// runs postconf again; writes and other options always run.
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { enablePostconfReadCache, readPostconf } from "../../../../src/agent/postfix/postconf-cache.js";

const root = mkdtempSync(join(tmpdir(), "pf-pcache-"));
const calls = join(root, "calls");
const postconf = join(root, "postconf");
// A stand-in postconf: logs each call, prints config_directory and the main.cf it reads.
writeFileSync(
  postconf,
  `#!/bin/sh\necho "$*" >> ${calls}\ndir=${root}/etc\n[ "$1" = -xc ] && dir=$2\necho "config_directory = $dir"\ncat "$dir/main.cf"\n`,
);
chmodSync(postconf, 0o755);
mkdirSync(join(root, "etc"));
mkdirSync(join(root, "out"));
writeFileSync(join(root, "etc", "main.cf"), "a = 1\n");
writeFileSync(join(root, "out", "main.cf"), "b = 1\n");
const count = () => readFileSync(calls, "utf8").trim().split("\n").length;
const env = { PATH: "/usr/bin:/bin" };
const read = (...args: string[]) => readPostconf([postconf, ...args], { env, capture: true });

describe("postconf read cache", () => {
  it("reads each unchanged main.cf once, and again after it changes", async () => {
    enablePostconfReadCache();
    const p1 = await read("-x", "config_directory");
    await read("-x", "config_directory"); // the first read only learned the primary's directory
    const p3 = await read("-x", "config_directory");
    expect(count()).toBe(2);
    expect(p3.stdout).toBe(p1.stdout);

    const out = join(root, "out");
    expect((await read("-xc", out, "b")).stdout).toContain("b = 1");
    await read("-xc", out, "b");
    expect(count()).toBe(3);

    appendFileSync(join(out, "main.cf"), "c = 2\n");
    expect((await read("-xc", out, "b")).stdout).toContain("c = 2");
    expect(count()).toBe(4);

    // Not a plain read: always run.
    await read("-e", "x=1");
    await read("-e", "x=1");
    expect(count()).toBe(6);
  });
});
