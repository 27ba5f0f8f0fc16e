import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { childrenNamed, invalidCheck } from "../../../src/agent/health-checks.js";

describe("smtpd children from /proc", () => {
  const proc = mkdtempSync(join(tmpdir(), "h2-proc-"));
  afterAll(() => rmSync(proc, { recursive: true, force: true }));
  const stat = (pid: number, comm: string, state: string, ppid: number) => {
    mkdirSync(join(proc, String(pid)));
    writeFileSync(join(proc, String(pid), "stat"), `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 0 0\n`);
  };
  stat(100, "master", "S", 1);
  stat(101, "smtpd", "S", 100);
  stat(102, "smtpd", "R", 100);
  stat(103, "smtpd", "Z", 100); // exited, not reaped
  stat(104, "qmgr", "S", 100);
  stat(201, "smtpd", "S", 200); // another instance's master
  stat(105, "a) b (smtpd", "S", 100); // a comm with parentheses is not smtpd
  mkdirSync(join(proc, "self"));

  it("counts live smtpd children of the master only", () => {
    expect(childrenNamed(100, "smtpd", proc).sort()).toEqual([101, 102]);
    expect(childrenNamed(200, "smtpd", proc)).toEqual([201]);
    expect(childrenNamed(100, "qmgr", proc)).toEqual([104]);
  });
});

describe("check validation", () => {
  it("accepts the protocol's shapes and names what is wrong otherwise", () => {
    expect(invalidCheck({ kind: "master" })).toBeNull();
    expect(invalidCheck({ kind: "smtp", address: "127.0.0.1", port: 25 })).toBeNull();
    expect(invalidCheck({ kind: "queue", max: 0 })).toBeNull();
    expect(invalidCheck({ kind: "command", argv: ["true"] })).toBeNull();
    expect(invalidCheck({ kind: "smtp", port: 70000 })).toMatch(/port/);
    expect(invalidCheck({ kind: "sessions" })).toMatch(/max/);
    expect(invalidCheck({ kind: "command", argv: [] })).toMatch(/argv/);
    expect(invalidCheck({ kind: "disk" })).toBe('unknown health check kind: "disk"');
  });
});
