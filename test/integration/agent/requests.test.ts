// The protocol-2 config, health and service handlers on a real lab host
// (Postfix 3.7, no systemd): postconf and postfix(1) are the oracle.
import { describe, expect, it } from "vitest";
import type { TestLabHost } from "../../support/lab.js";
import { config, health, service, systemdDetected } from "../../support/agent-requests.js";
import { AGENT, mustSh, sh, withLabAgent } from "../../support/agent-on-host.js";
import { shellQuote } from "../../../src/transport/shell.js";

const OUT = "/etc/postfix-out";
const running = async (host: TestLabHost, dir: string) => (await sh(host, `postfix -c ${dir} status`)).exitCode === 0;
const masterPidOf = async (host: TestLabHost, queue: string) => (await mustSh(host, `head -1 ${queue}/pid/master.pid`)).trim();

describe("config, health and service requests (no systemd)", () => {
  let host: TestLabHost;
  withLabAgent({}, async (_lab, h) => {
    host = h;
    // Postfix's own postmulti sets up the instances: an enabled output and a disabled spare.
    await mustSh(host, "postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -I postfix-spare -e create");
  });

  describe("config", () => {
    it("sets main.cf parameters and reads them back, reporting before/after", async () => {
      // postmulti -e create leaves inet_interfaces at its default and sets master_service_disable = inet.
      const r = await config(host, {
        op: "config",
        instance: "postfix-out",
        set: { main: { inet_interfaces: "127.0.0.1", smtp_helo_name: "out.example.net" }, mainAbsent: ["master_service_disable"] },
        read: true,
      });
      expect(r.error).toBeUndefined();
      expect(r.instance).toMatchObject({ name: "postfix-out", group: "mta", enabled: true, configDirectory: OUT, primary: false });
      expect(r.changed).toBe(true);
      expect(r.changes).toEqual([
        { file: "main.cf", name: "inet_interfaces", before: null, after: "127.0.0.1", defaultValue: "all" },
        { file: "main.cf", name: "smtp_helo_name", before: null, after: "out.example.net", defaultValue: "$myhostname" },
        { file: "main.cf", name: "master_service_disable", before: "inet", after: null, defaultValue: "" },
      ]);
      expect((await mustSh(host, `postconf -c ${OUT} -h inet_interfaces smtp_helo_name`)).split("\n").slice(0, 2)).toEqual(["127.0.0.1", "out.example.net"]);
      // read: postconf -n as a map and postconf -M lines, as the host's postconf prints them.
      expect(r.main!.smtp_helo_name).toBe("out.example.net");
      const n = await mustSh(host, `postconf -c ${OUT} -n`);
      expect(Object.keys(r.main!)).toEqual(n.trim().split("\n").map((l) => /^(\S+) =/.exec(l)![1]));
      expect(r.master).toEqual((await mustSh(host, `postconf -c ${OUT} -M`)).trim().split("\n"));
    });

    it("answers no change for a second identical set, and for a value equal to the default", async () => {
      const snap = await mustSh(host, `sha256sum ${OUT}/main.cf ${OUT}/master.cf`);
      const r = await config(host, { op: "config", instance: "postfix-out", set: { main: { inet_interfaces: "127.0.0.1", smtp_helo_name: "out.example.net", smtpd_helo_required: "no" } } });
      expect(r).toMatchObject({ changed: false, changes: [] });
      expect(r.error).toBeUndefined();
      expect(await mustSh(host, `sha256sum ${OUT}/main.cf ${OUT}/master.cf`)).toBe(snap);
    });

    it("removes a parameter with mainAbsent and gives the default it falls back to", async () => {
      await mustSh(host, `postconf -c ${OUT} -e message_size_limit=20480000`);
      const r = await config(host, { op: "config", instance: "postfix-out", set: { mainAbsent: ["message_size_limit", "relay_domains"] } });
      const def = (await mustSh(host, `postconf -c ${OUT} -dh message_size_limit`)).trim();
      expect(r.changes).toEqual([{ file: "main.cf", name: "message_size_limit", before: "20480000", after: null, defaultValue: def }]);
      expect(await mustSh(host, `postconf -c ${OUT} -n message_size_limit`)).toBe("");
    });

    it("creates a master.cf entry (-M), sets fields (-F) and parameters (-P), removes parameters (-PX) and entries (-MX)", async () => {
      const created = await config(host, {
        op: "config",
        instance: "postfix-out",
        set: { master: { "2525/inet": { command: "smtpd", private: "n", syslog_name: "postfix-out/alt" }, "spare/unix": { command: "smtp" } } },
      });
      expect(created.error).toBeUndefined();
      expect(created.changes.map((c) => [c.name, c.kind, c.after])).toEqual([
        ["2525/inet", "entry", "2525 inet n - - - - smtpd"],
        ["2525/inet/syslog_name", "param", "postfix-out/alt"],
        ["spare/unix", "entry", "spare unix - - - - - smtp"],
      ]);
      expect(await mustSh(host, `postconf -c ${OUT} -M 2525/inet`)).toMatch(/^2525\s+inet\s+n\s+-\s+-\s+-\s+-\s+smtpd -o syslog_name=postfix-out\/alt\n$/);

      const edited = await config(host, {
        op: "config",
        instance: "postfix-out",
        set: { master: { "2525/inet": { process_limit: "20", command: "smtpd", syslog_name: null, smtpd_client_connection_count_limit: "5" }, "spare/unix": null } },
      });
      expect(edited.changes).toEqual([
        { file: "master.cf", name: "2525/inet/process_limit", before: "-", after: "20", kind: "field" },
        { file: "master.cf", name: "2525/inet/syslog_name", before: "postfix-out/alt", after: null, kind: "param" },
        { file: "master.cf", name: "2525/inet/smtpd_client_connection_count_limit", before: null, after: "5", kind: "param" },
        { file: "master.cf", name: "spare/unix", before: "spare unix - - - - - smtp", after: null, kind: "entry" },
      ]);
      expect(await mustSh(host, `postconf -c ${OUT} -F 2525/inet/process_limit`)).toBe("2525/inet/process_limit = 20\n");
      expect(await mustSh(host, `postconf -c ${OUT} -P 2525/inet`)).toBe("2525/inet/smtpd_client_connection_count_limit = 5\n");
      expect(await mustSh(host, `postconf -c ${OUT} -M spare/unix 2>/dev/null`)).toBe("");
      const again = await config(host, { op: "config", instance: "postfix-out", set: { master: { "2525/inet": { process_limit: "20", syslog_name: null }, "spare/unix": null } } });
      expect(again).toMatchObject({ changed: false, changes: [] });
    });

    it("in a dry run writes nothing (postconf -n and -M byte-identical) and answers what would change", async () => {
      const state = () => mustSh(host, `postconf -c ${OUT} -n; postconf -c ${OUT} -M; ls -la --time-style=full-iso ${OUT}`);
      const before = await state();
      const r = await config(host, {
        op: "config",
        instance: "postfix-out",
        dryRun: true,
        read: true,
        set: { main: { myhostname: "dry.example.net" }, mainAbsent: ["smtp_helo_name"], master: { "2526/inet": { command: "smtpd" }, "2525/inet": { process_limit: "30" } } },
      });
      expect(await state()).toBe(before);
      expect(r).toMatchObject({ dryRun: true, changed: true });
      expect(r.changes.map((c) => c.name)).toEqual(["myhostname", "smtp_helo_name", "2526/inet", "2525/inet/process_limit"]);
      expect(r.main!.myhostname).toBe("dry.example.net");
      expect(r.main!.smtp_helo_name).toBeUndefined();
      expect(r.master!.some((l) => /^2526\s+inet\s.*smtpd$/.test(l))).toBe(true);
      expect(r.master!.find((l) => l.startsWith("2525 "))).toMatch(/^2525\s+inet\s+n\s+-\s+-\s+-\s+30\s+smtpd/);
    });

    it("writes under the host lock: waits for another agent's lock and fails with code lock after lockTimeoutMs; a dry run does not wait", async () => {
      // Another agent holds the lock for 4 s (detached, so that this exec does not wait for it).
      const locker = `{ printf '%s\\n' '{"id":1,"op":"lock","holder":"h2 test holder"}'; sleep 4; } | node ${AGENT} --serve >/tmp/locker.out 2>&1`;
      await mustSh(host, `setsid sh -c ${shellQuote(locker)} >/dev/null 2>&1 </dev/null &`);
      await mustSh(host, "for i in $(seq 1 100); do [ -e /run/postfleet/agent.lock ] && exit 0; sleep 0.1; done; exit 1");
      const snap = await mustSh(host, `sha256sum ${OUT}/main.cf`);
      const r = await config(host, { op: "config", instance: "postfix-out", set: { main: { smtp_helo_name: "locked.example.net" } }, lockTimeoutMs: 300 });
      expect(r.error?.code).toBe("lock");
      expect(r.error?.message).toContain("h2 test holder");
      expect(r.changed).toBe(false);
      expect(await mustSh(host, `sha256sum ${OUT}/main.cf`)).toBe(snap);
      const dry = await config(host, { op: "config", instance: "postfix-out", set: { main: { smtp_helo_name: "locked.example.net" } }, dryRun: true, lockTimeoutMs: 300 });
      expect(dry.error).toBeUndefined();
      expect(dry.changes).toEqual([{ file: "main.cf", name: "smtp_helo_name", before: "out.example.net", after: "locked.example.net" }]);
      await mustSh(host, "for i in $(seq 1 100); do [ -e /run/postfleet/agent.lock ] || exit 0; sleep 0.1; done; exit 1");
    });

    it("answers errors in `error`: unknown instance, a value postconf refuses (nothing written), a bad spec", async () => {
      const unknown = await config(host, { op: "config", instance: "postfix-nope", set: { main: { a: "b" } } });
      expect(unknown.error).toEqual({ message: "No instance named postfix-nope", code: "not-found" });
      const snap = await mustSh(host, `sha256sum ${OUT}/master.cf`);
      const refused = await config(host, { op: "config", instance: "postfix-out", set: { master: { "2525/inet": { private: "maybe" } } } });
      expect(refused.error?.code).toBe("failed");
      expect(refused.error?.message).toContain('invalid private field "maybe"');
      expect(await mustSh(host, `sha256sum ${OUT}/master.cf`)).toBe(snap);
      const bad = await config(host, { op: "config", instance: "postfix-out", set: { master: { "2525/inet": { smtpd_banner: "two words" } } } });
      expect(bad.error?.code).toBe("usage");
    });
  });

  describe("service (postfix(1), no systemd on this host)", () => {
    it("detects that systemd does not run Postfix here", async () => {
      expect(await systemdDetected(host)).toBe(false);
      const r = await service(host, { op: "service", instance: "postfix-out", action: "start", via: "systemd" });
      expect(r.error?.message).toMatch(/systemd does not run Postfix/);
      expect(await running(host, OUT)).toBe(false);
    });

    it("dry run: says what it would run and runs nothing", async () => {
      const r = await service(host, { op: "service", instance: "postfix-out", action: "start", dryRun: true });
      expect(r).toMatchObject({ via: "postfix", command: ["/usr/sbin/postfix", "-c", OUT, "start"], changed: true, dryRun: true });
      expect(await running(host, OUT)).toBe(false);
    });

    it("starts, and a second start is skipped 'already running'", async () => {
      const r = await service(host, { op: "service", instance: "postfix-out", action: "start" });
      expect(r.error).toBeUndefined();
      expect(r).toMatchObject({ via: "postfix", command: ["/usr/sbin/postfix", "-c", OUT, "start"], exitCode: 0, changed: true });
      expect(await running(host, OUT)).toBe(true);
      const again = await service(host, { op: "service", instance: "postfix-out", action: "start" });
      expect(again).toMatchObject({ changed: false, skipped: "already running", command: null });
    });

    it("reloads a running instance; restarts it as stop then start (a new master)", async () => {
      const reload = await service(host, { op: "service", instance: "postfix-out", action: "reload" });
      expect(reload).toMatchObject({ changed: true, exitCode: 0, command: ["/usr/sbin/postfix", "-c", OUT, "reload"] });
      const pid = await masterPidOf(host, "/var/spool/postfix-out");
      const restart = await service(host, { op: "service", instance: "postfix-out", action: "restart" });
      expect(restart.error).toBeUndefined();
      expect(restart.command).toEqual(["/usr/sbin/postfix", "-c", OUT, "stop", "&&", "/usr/sbin/postfix", "-c", OUT, "start"]);
      expect(await masterPidOf(host, "/var/spool/postfix-out")).not.toBe(pid);
      expect(await running(host, OUT)).toBe(true);
    });

    it("never starts a disabled instance: runs postfix check and answers skipped 'disabled'", async () => {
      const r = await service(host, { op: "service", instance: "postfix-spare", action: "start" });
      expect(r).toMatchObject({ skipped: "disabled", changed: false, command: ["/usr/sbin/postfix", "-c", "/etc/postfix-spare", "check"], exitCode: 0 });
      expect(await running(host, "/etc/postfix-spare")).toBe(false);
      const stop = await service(host, { op: "service", instance: "postfix-spare", action: "stop" });
      expect(stop).toMatchObject({ skipped: "disabled", command: null, changed: false });
    });
  });

  describe("health", () => {
    it("passes on a started instance: master, smtp banners on its listeners, queue, sessions, command in its context", async () => {
      const r = await health(host, {
        op: "health",
        instance: "postfix-out",
        timeoutMs: 10_000,
        checks: [
          { kind: "master" },
          { kind: "smtp" },
          { kind: "queue", max: 0 },
          { kind: "sessions", max: 0 },
          { kind: "command", argv: ['test "$MAIL_CONFIG" = /etc/postfix-out && test "$multi_instance_name" = postfix-out && postconf -h multi_instance_group'], shell: true },
        ],
      });
      expect(r.error).toBeUndefined();
      const pid = await masterPidOf(host, "/var/spool/postfix-out");
      expect(r.checks.map((c) => [c.kind, c.ok])).toEqual([["master", true], ["smtp", true], ["queue", true], ["sessions", true], ["command", true]]);
      expect(r.ok).toBe(true);
      expect(r.checks[0]!.detail).toBe(`master pid ${pid}`);
      // smtp/inet on inet_interfaces 127.0.0.1 and the 2525/inet entry added above.
      expect(r.checks[1]!.detail).toMatch(/^220 \S+ ESMTP Postfix \(Debian\/GNU\) at 127\.0\.0\.1:25; 220 .* at 127\.0\.0\.1:2525$/);
      expect(r.checks[2]!.detail).toBe("queue 0 ≤ 0 (active 0, incoming 0, deferred 0)");
      expect(r.checks[4]!.detail).toBe("exit 0: mta");
      expect(r.instance.name).toBe("postfix-out");
    });

    it("counts an open SMTP session against the sessions limit", async () => {
      // A client that holds a session on 2525 for 6 s; the check starts once it has the banner.
      await mustSh(host, `rm -f /tmp/client.log; (node -e "const s=require('net').connect(2525,'127.0.0.1');s.on('data',(d)=>process.stdout.write(d));setTimeout(()=>s.end('QUIT\\r\\n'),6000)" >/tmp/client.log 2>&1 &)`);
      await mustSh(host, "for i in $(seq 1 50); do grep -q '^220 ' /tmp/client.log && exit 0; sleep 0.1; done; exit 1");
      const r = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 4000, intervalMs: 200, checks: [{ kind: "sessions", max: 1 }, { kind: "sessions", max: 0 }] });
      expect(r.checks[0]!.ok).toBe(true);
      expect(r.checks[1]).toMatchObject({ ok: false });
      expect(r.checks[1]!.detail).toMatch(/^1 SMTP session > 0 \(on 127\.0\.0\.1:25, 127\.0\.0\.1:2525; master pid \d+ has \d+ smtpd process(es)?\)$/);
      expect(r.ok).toBe(false);
      // Once the client has gone, the idle smtpd is no session: the retry passes.
      const drained = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 15_000, intervalMs: 300, checks: [{ kind: "sessions", max: 0 }] });
      expect(drained.ok).toBe(true);
      // The smtpd process lingers idle (max_idle): it is no session.
      expect(drained.checks[0]!.detail).toMatch(/^0 SMTP sessions ≤ 0 \(on .*; master pid \d+ has [1-9]\d* smtpd process/);
    });

    it("probes a postscreen listener too (its smtpd behind it as a pass service)", async () => {
      const set = await config(host, {
        op: "config",
        instance: "postfix-out",
        set: { master: { "127.0.0.1:2527/inet": { command: "postscreen", process_limit: "1" }, "smtpd/pass": { command: "smtpd" } } },
      });
      expect(set.error).toBeUndefined();
      expect(await service(host, { op: "service", instance: "postfix-out", action: "reload" })).toMatchObject({ changed: true, exitCode: 0 });
      // The master opens the new listener once it has re-read master.cf: retried until then.
      const r = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 10_000, intervalMs: 200, checks: [{ kind: "smtp" }, { kind: "sessions", max: 0 }] });
      expect(r.ok).toBe(true);
      expect(r.checks[0]!.detail).toMatch(/^220 .* at 127\.0\.0\.1:25; 220 .* at 127\.0\.0\.1:2525; 220 \S+ ESMTP Postfix \(Debian\/GNU\) at 127\.0\.0\.1:2527$/);
      expect(r.checks[1]!.detail).toMatch(/^0 SMTP sessions ≤ 0 \(on 127\.0\.0\.1:25, 127\.0\.0\.1:2525, 127\.0\.0\.1:2527; /);
    });

    it("fails on a stopped instance with a clear detail, within its timeout, retrying", async () => {
      const stop = await service(host, { op: "service", instance: "postfix-out", action: "stop" });
      expect(stop).toMatchObject({ changed: true, exitCode: 0 });
      expect(await service(host, { op: "service", instance: "postfix-out", action: "stop" })).toMatchObject({ changed: false, skipped: "not running" });
      expect(await service(host, { op: "service", instance: "postfix-out", action: "reload" })).toMatchObject({ changed: false, skipped: "not running" });
      const r = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 1500, intervalMs: 300, checks: [{ kind: "master" }, { kind: "smtp", port: 2525 }, { kind: "command", argv: ["false"] }] });
      expect(r.ok).toBe(false);
      expect(r.error).toBeUndefined();
      expect(r.attempts).toBeGreaterThanOrEqual(3);
      expect(r.durationMs).toBeGreaterThanOrEqual(1500);
      expect(r.durationMs).toBeLessThan(4000);
      expect(r.checks).toEqual([
        { kind: "master", ok: false, detail: "master not running (no live master process in /var/spool/postfix-out/pid/master.pid)" },
        { kind: "smtp", ok: false, detail: "127.0.0.1:2525: connection refused" },
        { kind: "command", ok: false, detail: "exit 1" },
      ]);
    });

    it("stops retrying when cancelled, and reports an unknown instance", async () => {
      const r = await health(host, { op: "health", instance: "postfix-out", timeoutMs: 30_000, cancelAfterMs: 700, checks: [{ kind: "master" }] });
      expect(r.error).toEqual({ message: "health check cancelled", code: "cancelled" });
      expect(r.durationMs).toBeLessThan(3000);
      expect(r.checks[0]!.ok).toBe(false);
      const nope = await health(host, { op: "health", instance: "nope", checks: [{ kind: "master" }] });
      expect(nope.error?.code).toBe("not-found");
    });

    it("restart of a stopped instance starts it", async () => {
      const r = await service(host, { op: "service", instance: "postfix-out", action: "restart" });
      expect(r).toMatchObject({ changed: true, command: ["/usr/sbin/postfix", "-c", OUT, "start"] });
      expect(await running(host, OUT)).toBe(true);
    });
  });
});
