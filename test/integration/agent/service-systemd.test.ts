// `service` on the lab's systemd variant: systemd (PID 1) runs Postfix as
// Debian's postfix@<instance> units, so the agent goes through systemctl, and
// `systemctl is-active` agrees with what it answered.
import { describe, expect, it } from "vitest";
import type { TestLabHost } from "../../support/lab.js";
import { config, health, service, systemdDetected } from "../../support/agent-requests.js";
import { mustSh, sh, withLabAgent } from "../../support/agent-on-host.js";

const OUT = "/etc/postfix-out";
const isActive = async (host: TestLabHost, unit: string) => (await sh(host, `systemctl is-active ${unit}`)).stdout.trim();
const running = async (host: TestLabHost, dir: string) => (await sh(host, `postfix -c ${dir} status`)).exitCode === 0;
const SYSTEMCTL = expect.stringMatching(/\/systemctl$/);

describe("service through systemd (postfix@<instance> units)", () => {
  let host: TestLabHost;
  withLabAgent({ systemd: true }, async (_lab, h) => {
    host = h;
    await sh(host, "timeout 60 systemctl is-system-running --wait");
    await mustSh(host, "postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -I postfix-spare -e create");
    // postfix-out listens on 127.0.0.1:2525 only, so that it never meets the primary on port 25.
    const r = await config(host, {
      op: "config",
      instance: "postfix-out",
      set: { main: { inet_interfaces: "127.0.0.1" }, mainAbsent: ["master_service_disable"], master: { "smtp/inet": null, "2525/inet": { command: "smtpd" } } },
    });
    if (r.error) throw new Error(r.error.message);
  });

  it("detects that systemd runs Postfix here", async () => {
    expect(await mustSh(host, "cat /proc/1/comm")).toBe("systemd\n");
    expect(await systemdDetected(host)).toBe(true);
  });

  it("starts through systemctl; is-active agrees; a second start is skipped", async () => {
    const r = await service(host, { op: "service", instance: "postfix-out", action: "start" });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ via: "systemd", command: [SYSTEMCTL, "start", "postfix@postfix-out.service"], exitCode: 0, changed: true });
    expect(await isActive(host, "postfix@postfix-out.service")).toBe("active");
    expect(await running(host, OUT)).toBe(true);
    const h = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 10_000, checks: [{ kind: "master" }, { kind: "smtp" }] });
    expect(h.ok).toBe(true);
    expect(h.checks[1]!.detail).toMatch(/^220 .* at 127\.0\.0\.1:2525$/);
    const again = await service(host, { op: "service", instance: "postfix-out", action: "start" });
    expect(again).toMatchObject({ via: "systemd", changed: false, skipped: "already running", command: null });
  });

  it("reloads and restarts through systemctl (a new master, still active)", async () => {
    const reload = await service(host, { op: "service", instance: "postfix-out", action: "reload" });
    expect(reload).toMatchObject({ via: "systemd", command: [SYSTEMCTL, "reload", "postfix@postfix-out.service"], exitCode: 0, changed: true });
    const pid = await mustSh(host, "head -1 /var/spool/postfix-out/pid/master.pid");
    const restart = await service(host, { op: "service", instance: "postfix-out", action: "restart" });
    expect(restart.error).toBeUndefined();
    expect(restart).toMatchObject({ command: [SYSTEMCTL, "restart", "postfix@postfix-out.service"], changed: true });
    expect(await mustSh(host, "head -1 /var/spool/postfix-out/pid/master.pid")).not.toBe(pid);
    expect(await isActive(host, "postfix@postfix-out.service")).toBe("active");
  });

  it("stops through systemctl; is-active says inactive; a second stop is skipped", async () => {
    const r = await service(host, { op: "service", instance: "postfix-out", action: "stop" });
    expect(r).toMatchObject({ via: "systemd", command: [SYSTEMCTL, "stop", "postfix@postfix-out.service"], changed: true });
    expect(await isActive(host, "postfix@postfix-out.service")).toBe("inactive");
    expect(await running(host, OUT)).toBe(false);
    expect(await service(host, { op: "service", instance: "postfix-out", action: "stop" })).toMatchObject({ changed: false, skipped: "not running" });
    expect(await service(host, { op: "service", instance: "postfix-out", action: "reload" })).toMatchObject({ changed: false, skipped: "not running" });
  });

  it("drives the primary as postfix@-", async () => {
    const start = await service(host, { op: "service", instance: "-", action: "start" });
    expect(start).toMatchObject({ via: "systemd", command: [SYSTEMCTL, "start", "postfix@-.service"], changed: true });
    expect(await isActive(host, "postfix@-.service")).toBe("active");
    expect(await running(host, "/etc/postfix")).toBe(true);
    const stop = await service(host, { op: "service", instance: "-", action: "stop" });
    expect(stop).toMatchObject({ command: [SYSTEMCTL, "stop", "postfix@-.service"], changed: true });
    expect(await isActive(host, "postfix@-.service")).toBe("inactive");
  });

  it("never starts a disabled instance (postfix check instead), and leaves its unit alone", async () => {
    const r = await service(host, { op: "service", instance: "postfix-spare", action: "start" });
    expect(r).toMatchObject({ skipped: "disabled", changed: false, command: ["/usr/sbin/postfix", "-c", "/etc/postfix-spare", "check"], exitCode: 0 });
    expect(await isActive(host, "postfix@postfix-spare.service")).toBe("inactive");
    expect(await running(host, "/etc/postfix-spare")).toBe(false);
  });

  it("refuses to stop through systemd an instance started outside it, and stops it with via postfix", async () => {
    await mustSh(host, `postfix -c ${OUT} start`);
    const r = await service(host, { op: "service", instance: "postfix-out", action: "stop" });
    expect(r.error?.code).toBe("conflict");
    expect(r.error?.message).toMatch(/^postfix@postfix-out\.service is inactive but the instance's master runs \(pid \d+\): it was started outside systemd/);
    expect(r.command).toBeNull();
    expect(await running(host, OUT)).toBe(true);
    const p = await service(host, { op: "service", instance: "postfix-out", action: "stop", via: "postfix" });
    expect(p).toMatchObject({ via: "postfix", command: ["/usr/sbin/postfix", "-c", OUT, "stop"], changed: true });
    expect(await running(host, OUT)).toBe(false);
  });
});
