// The shipped rolling-restart.yml on 10 real lab hosts, after create-instances.yml
// and a postconf step that makes every instance log to /var/log/postfix.log:
//  - per host, instances stop in reverse multi_instance_directories order
//    (postfix-in, postfix-out, primary) and start in that order, for `restart`
//    and for a postconf step's `then: restart`;
//  - serial [1, "10%", "25%"] makes batches 1,1,2,2,2,2, and they are lockstep:
//    no host of batch k+1 is touched before every host of batch k has finished.
// Evidence: Postfix's own log lines ("starting the Postfix mail system" is
// written by postfix-script itself before the master runs, so it is never
// lost; "stopping ..." goes through the instance's postlogd, which dies with
// the master, so only the lines present are checked), the masters' start
// times from /proc (one kernel clock for all containers) and a watcher in
// each host that sees each master go away (it died after it was last seen
// alive), and the engine's own startedAt/finishedAt per host.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import {
  clearPostfixLog,
  explain,
  hostOutcomes,
  PLAYBOOKS,
  postfixLogLines,
  runPlaybook,
  watchMasters,
  writePlaybook,
  type MasterEvent,
  type MasterWatch,
  type PlaybookDocument,
} from "../../support/playbook.js";

const HOSTS = 10;
const STOP_ORDER = ["postfix-in", "postfix-out", "postfix"];
const START_ORDER = ["postfix", "postfix-out", "postfix-in"];
const TICK_MS = 25; // /proc start times: 10 ms ticks, boot time from /proc/uptime

// Every instance logs to the same file (the restarts below make the masters read it).
const LOGGING = writePlaybook(
  "logging.yml",
  `- name: every instance logs to one file
  hosts: all
  steps:
    - postconf:
        main_cf:
          maillog_file: /var/log/postfix.log
`,
);
// A setting changed on every instance: its handler restarts all three.
const TUNE = writePlaybook(
  "tune.yml",
  `- name: a setting on every instance, then restart
  hosts: all
  serial: 2
  steps:
    - postconf:
        main_cf:
          delay_warning_time: "{{ warn }}"
      then: restart
`,
);

describe(`rolling-restart.yml on ${HOSTS} hosts`, { timeout: 480_000 }, () => {
  let lab: Lab;
  let watches: MasterWatch[] = [];

  beforeAll(async () => {
    lab = await startLab(HOSTS);
    const created = await runPlaybook(lab, join(PLAYBOOKS, "create-instances.yml"), ["--json"]);
    expect(created.exitCode, explain(created)).toBe(0);
    const logging = await runPlaybook(lab, LOGGING, ["--json"]);
    expect(logging.exitCode, explain(logging)).toBe(0);
  }, 900_000);
  afterAll(async () => {
    await lab?.stop();
  });

  async function watched<T>(run: () => Promise<T>): Promise<{ result: T; events: MasterEvent[][] }> {
    await Promise.all(lab.hosts.map(clearPostfixLog));
    watches = await Promise.all(lab.hosts.map(watchMasters));
    const result = await run();
    // Let the watchers see the last master appear (it did before the run ended).
    await new Promise((r) => setTimeout(r, 500));
    const events = await Promise.all(watches.map((w) => w.events()));
    await Promise.all(watches.map((w) => w.stop()));
    return { result, events };
  }

  /** The run's events on one host: masters that went away, then the ones that came (initial "up"s dropped). */
  function restartOf(events: MasterEvent[]): { downs: MasterEvent[]; ups: MasterEvent[] } {
    return { downs: events.filter((e) => e.ev === "down"), ups: events.filter((e) => e.ev === "up" && !e.initial) };
  }

  /** Per host: stop order and start order from the watcher and from Postfix's log. */
  async function expectOrderedRestart(events: MasterEvent[][], hosts: number): Promise<void> {
    const [stops, starts] = [STOP_ORDER, START_ORDER];
    for (const [hi, host] of lab.hosts.slice(0, hosts).entries()) {
      const { downs, ups } = restartOf(events[hi]!);
      expect(downs.map((e) => e.instance), host.name).toEqual(stops);
      expect(ups.map((e) => e.instance), host.name).toEqual(starts);
      // Each stop completed before the next began (postfix stop waits for the master to go).
      for (let i = 1; i < downs.length; i++) expect(downs[i]!.lastAlive!, host.name).toBeGreaterThanOrEqual(downs[i - 1]!.t - 5);
      // Every start came after the last stop, in order (exact /proc start times).
      const lastDown = downs.at(-1)!;
      expect(ups[0]!.startedAt! + TICK_MS, host.name).toBeGreaterThan(lastDown.lastAlive!);
      for (let i = 1; i < ups.length; i++) expect(ups[i]!.startedAt!, host.name).toBeGreaterThanOrEqual(ups[i - 1]!.startedAt!);
      // Postfix's own log, in file order.
      const log = await postfixLogLines(host);
      const starting = log.filter((l) => l.includes("/postfix-script: starting the Postfix mail system"));
      expect(starting.map((l) => l.split("/")[0]), host.name).toEqual(starts);
      const stopping = log.filter((l) => l.includes("/postfix-script: stopping the Postfix mail system")).map((l) => l.split("/")[0]!);
      expect(stopping, host.name).toEqual(stops.filter((s) => stopping.includes(s)));
      // Every stop line present comes before the first start line.
      const firstStart = log.findIndex((l) => l.includes("starting the Postfix mail system"));
      const lastStop = log.map((l) => l.includes("stopping the Postfix mail system")).lastIndexOf(true);
      expect(lastStop, host.name).toBeLessThan(firstStart);
    }
  }

  it("--list-hosts prints the batches 1,1,2,2,2,2 without connecting", async () => {
    const r = await runPlaybook(lab, join(PLAYBOOKS, "rolling-restart.yml"), ["--list-hosts"]);
    expect(r.exitCode, explain(r)).toBe(0);
    const batches = r.stdout.split("\n").filter((l) => /^\s+batch \d+/.test(l)).map((l) => l.trim());
    expect(batches).toEqual([
      "batch 1 (1 host): mta01",
      "batch 2 (1 host): mta02",
      "batch 3 (2 hosts): mta03, mta04",
      "batch 4 (2 hosts): mta05, mta06",
      "batch 5 (2 hosts): mta07, mta08",
      "batch 6 (2 hosts): mta09, mta10",
    ]);
    expect(r.stdout).toContain("failure budget 1 host (the play stops when it is reached)");
  });

  it("restarts every host in lockstep batches 1,1,2,2,2,2, each in order, each start gated", { timeout: 600_000 }, async () => {
    const { result: r, events } = await watched(() => runPlaybook(lab, join(PLAYBOOKS, "rolling-restart.yml"), ["--json"]));
    const doc: PlaybookDocument = jsonOf(r);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(doc.summary).toMatchObject({ changed: HOSTS, failed: 0, skipped: 0 });
    const play = doc.plays[0]!;
    expect(play.batches.map((b) => b.hosts.map((h) => h.host))).toEqual([["mta01"], ["mta02"], ["mta03", "mta04"], ["mta05", "mta06"], ["mta07", "mta08"], ["mta09", "mta10"]]);
    for (const h of hostOutcomes(doc)) {
      const restart = h.steps.find((s) => s.type === "restart")!;
      expect(restart.status, h.host).toBe("changed");
      expect(restart.instances.map((i) => i.instance), h.host).toEqual(["-", "postfix-out", "postfix-in"]);
      for (const i of restart.instances) {
        expect(i.via, h.host).toBe("postfix");
        expect(i.health?.length, `${h.host} ${i.instance} gate`).toBeGreaterThan(0);
        expect(i.health!.every((c) => c.ok)).toBe(true);
      }
      // The gate probed SMTP where there is a listener (not on the null client).
      expect(restart.instances[2]!.health!.map((c) => c.kind)).toContain("smtp");
    }
    await expectOrderedRestart(events, HOSTS);

    // Lockstep, from the engine's clock: every host of batch k finished before any of batch k+1 started.
    const byBatch = play.batches.map((b) => b.hosts);
    for (let k = 1; k < byBatch.length; k++) {
      const endPrev = Math.max(...byBatch[k - 1]!.map((h) => Date.parse(h.finishedAt!)));
      const startNext = Math.min(...byBatch[k]!.map((h) => Date.parse(h.startedAt!)));
      expect(startNext, `batch ${k + 1} started before batch ${k} ended`).toBeGreaterThanOrEqual(endPrev);
    }
    // ...and from Postfix's side: each host's masters went down and came up inside its own window, and
    // every master of batch k+1 went down after the last master of batch k came up.
    const ev = (host: string) => restartOf(events[lab.hosts.findIndex((h) => h.name === host)]!);
    for (const h of hostOutcomes(doc)) {
      const { downs, ups } = ev(h.host);
      const [from, to] = [Date.parse(h.startedAt!), Date.parse(h.finishedAt!)];
      for (const d of downs) expect(d.t, `${h.host} ${d.instance} went down after its host started`).toBeGreaterThanOrEqual(from);
      for (const u of ups) {
        expect(u.startedAt! + TICK_MS, `${h.host} ${u.instance} started inside its window`).toBeGreaterThanOrEqual(from);
        expect(u.startedAt! - TICK_MS, `${h.host} ${u.instance} started inside its window`).toBeLessThanOrEqual(to);
      }
    }
    for (let k = 1; k < byBatch.length; k++) {
      const lastUp = Math.max(...byBatch[k - 1]!.flatMap((h) => ev(h.host).ups.map((u) => u.startedAt!)));
      for (const h of byBatch[k]!) {
        const firstDown = ev(h.host).downs[0]!;
        // It was still alive at lastAlive, so it went down after that.
        expect(firstDown.lastAlive!, `${h.host} (batch ${k + 1}) stopped before batch ${k} was up`).toBeGreaterThan(lastUp);
      }
    }
  });

  it("then: restart after a setting changed on all three instances: same order, Postfix's log agrees (human output)", { timeout: 600_000 }, async () => {
    const { result: r, events } = await watched(() => runPlaybook(lab, TUNE, ["-e", "warn=3h", "-l", "mta01:mta02:mta03:mta04"]));
    expect(r.exitCode, explain(r)).toBe(0);
    // serial 2 of 4: two batches, announced in order; each host's handler names the three instances.
    expect(r.stdout.match(/^BATCH .*$/gm)).toEqual(["BATCH 1/2 (2 hosts): mta01, mta02", "BATCH 2/2 (2 hosts): mta03, mta04"]);
    // The two hosts of each batch had the same outcome: one folded block per batch, one recap line for all four.
    expect(r.stdout.match(/^\S.* \| [A-Z]+.*$/gm)).toEqual(["mta01, mta02 (2 hosts) | CHANGED", "mta03, mta04 (2 hosts) | CHANGED"]);
    expect(r.stdout.match(/^ {2}\[changed\] then: restart -, postfix-out, postfix-in$/gm)).toHaveLength(2);
    expect(r.stdout).toMatch(/^mta\[01:04\] \(4 hosts\) : ok=0  changed=2  failed=0  unreachable=0  skipped=0$/m);
    await expectOrderedRestart(events, 4);
    // The hosts outside the limit were not touched.
    for (const [hi, host] of lab.hosts.entries()) if (hi >= 4) expect(events[hi]!.filter((e) => !e.initial), host.name).toEqual([]);
    for (const host of lab.hosts.slice(0, 4)) expect((await host.exec("postconf -c /etc/postfix-in -h delay_warning_time")).stdout.trim()).toBe("3h");
  });
});
