import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { canonicalHost, childrenNamed, invalidCheck, serviceDisabled, sessionsOn, tcpConnections } from "../../../../src/agent/requests/health-checks.js";
import { listenEndpoints, parseServices } from "../../../../src/agent/requests/smtp-banner.js";

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

  it("reads the socket table (IPv4 and IPv6, mapped addresses as IPv4)", () => {
    mkdirSync(join(proc, "net"));
    // Real lines: a listener on 127.0.0.1:2525, a session on it (01), its client end, a TIME_WAIT (06).
    writeFileSync(
      join(proc, "net", "tcp"),
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
        "   1: 0100007F:09DD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 326773 1 000000006b7061ee 100 0 0 10 0\n" +
        "   2: 0100007F:09DD 0100007F:D554 01 00000000:00000000 02:000AFC6E 00000000   100        0 330552 3 00000000ab5af33d 20 0 0 11 -1\n" +
        "   4: 0100007F:09DD 0100007F:D97A 06 00000000:00000000 03:000014F8 00000000     0        0 0 3 000000002cb3b0b3\n" +
        "   6: 0100007F:D554 0100007F:09DD 01 00000000:00000000 00:00000000 00000000     0        0 330551 2 00000000d80aaeb5 20 4 30 10 -1\n" +
        "   7: 0201A8C0:0019 0A01A8C0:D554 01 00000000:00000000 00:00000000 00000000   100        0 330553 2 00000000d80aaeb5 20 4 30 10 -1\n",
    );
    writeFileSync(
      join(proc, "net", "tcp6"),
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
        "   0: 00000000000000000000000001000000:0019 00000000000000000000000001000000:D000 01 00000000:00000000 00:00000000 00000000   100        0 1 1 0 20 4 30 10 -1\n" +
        "   1: 0000000000000000FFFF00000100007F:09DD 0000000000000000FFFF00000100007F:D001 08 00000000:00000000 00:00000000 00000000   100        0 2 1 0 20 4 30 10 -1\n",
    );
    const conns = tcpConnections(proc);
    expect(conns.slice(0, 2)).toEqual([
      { host: "127.0.0.1", port: 2525, state: "0A" },
      { host: "127.0.0.1", port: 2525, state: "01" },
    ]);
    expect(conns.find((c) => c.state === "01" && c.port === 25 && c.host.includes(":"))!.host).toBe(canonicalHost("::1"));
    expect(conns.at(-1)).toEqual({ host: "127.0.0.1", port: 2525, state: "08" });
    const services = parseServices("smtp 25/tcp mail\n");
    // 127.0.0.1:2525: the established session and the IPv4-mapped closing one; not the listener, the client end or TIME_WAIT.
    expect(sessionsOn(listenEndpoints("2525", "127.0.0.1", services), conns)).toBe(2);
    // smtp on every interface: 192.168.1.2:25 and [::1]:25.
    expect(sessionsOn(listenEndpoints("smtp", "all", services), conns)).toBe(2);
    // smtp on 192.168.1.2 only.
    expect(sessionsOn(listenEndpoints("smtp", "192.168.1.2", services), conns)).toBe(1);
    expect(sessionsOn(listenEndpoints("[::1]:smtp", "all", services), conns)).toBe(1);
  });

  it("spells IPv6 addresses one way", () => {
    expect(canonicalHost("::1")).toBe("0000:0000:0000:0000:0000:0000:0000:0001");
    expect(canonicalHost("2001:DB8::1:0")).toBe("2001:0db8:0000:0000:0000:0000:0001:0000");
    expect(canonicalHost("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(canonicalHost("192.0.2.1")).toBe("192.0.2.1");
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

describe("master_service_disable", () => {
  it("turns listeners off by type or by service/type", () => {
    expect(serviceDisabled("inet", "smtp", "inet")).toBe(true);
    expect(serviceDisabled("", "smtp", "inet")).toBe(false);
    expect(serviceDisabled("2525/inet, unix", "2525", "inet")).toBe(true);
    expect(serviceDisabled("2525/inet", "smtp", "inet")).toBe(false);
  });
});
