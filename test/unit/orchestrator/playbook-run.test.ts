// The playbook engine with fake hosts (unit: the agent's answers are
// scripted): lockstep batches, the failure budget across batches (reached),
// Ansible's per-batch rule (exceeded), steps stopped after a failure, handlers
// run once, interrupts, and the retry list.
import { describe, expect, it } from "vitest";
import type { InstanceFacts } from "../../../src/protocol/index.js";
import { UnreachableError, type AgentRequestBody } from "../../../src/transport/index.js";
import type { RunHostSession } from "../../../src/orchestrator/host-session.js";
import { runPlaybook, type ExecPlay } from "../../../src/orchestrator/playbook-run.js";
import { FleetRun } from "../../../src/orchestrator/fleet-run.js";
import type { ExecStep, StepAction } from "../../../src/orchestrator/steps/step-model.js";

const inst = (name: string, primary = false): InstanceFacts => ({
  name,
  group: primary ? "-" : "mta",
  enabled: true,
  primary,
  configDirectory: primary ? "/etc/postfix" : `/etc/${name}`,
  queueDirectory: primary ? "/var/spool/postfix" : `/var/spool/${name}`,
  dataDirectory: primary ? "/var/lib/postfix" : `/var/lib/${name}`,
  running: true,
});
const INSTANCES = [inst("-", true), inst("postfix-out"), inst("postfix-in")];
const info = (name: string) => {
  const i = INSTANCES.find((x) => x.name === name || (name === "-" && x.primary))!;
  return { name: i.name, group: i.group, enabled: i.enabled, configDirectory: i.configDirectory, primary: i.primary };
};

interface FakeHost {
  log: string[];
  /** Fail this service action on this instance. */
  failService?: string;
  /** Delay of every service request, ms. */
  delayMs?: number;
  /** lock/unlock requests, in order. */
  locks?: string[];
  /** The connection is lost when this service action is asked. */
  loseAt?: string;
  /** Answers of the probe requests, in order (true: mail flows); past the end, the last one. */
  probes?: boolean[];
}

/** A session whose agent answers from a script and records what it was asked, with timestamps. */
function fakeSession(host: string, h: FakeHost, clock: { t: number[] }): RunHostSession {
  const request = async (body: AgentRequestBody) => {
    clock.t.push(Date.now());
    switch (body.op) {
      case "facts":
        return { id: 1, op: "facts", postfixVersion: "3.7.11", nodeVersion: "18", agentVersion: "x", hostname: host, instances: INSTANCES };
      case "service": {
        await new Promise((r) => setTimeout(r, h.delayMs ?? 1));
        const what = `${body.action} ${body.instance}`;
        h.log.push(what);
        if (h.loseAt === what) throw new UnreachableError(host, `connection to ${host} was lost while the agent was running`);
        const fail = h.failService === what;
        return { id: 1, op: "service", instance: info(body.instance), action: body.action, via: "postfix", command: ["postfix", body.action], exitCode: fail ? 1 : 0, stdout: "", stderr: fail ? "postfix: fatal: boom\n" : "", durationMs: 1, changed: !fail, dryRun: !!body.dryRun };
      }
      case "health":
        h.log.push(`health ${body.instance}`);
        return { id: 1, op: "health", instance: info(body.instance), ok: true, checks: [{ kind: "master", ok: true, detail: "pid 1" }], attempts: 1, durationMs: 1 };
      case "config":
        h.log.push(`config ${body.instance}`);
        return { id: 1, op: "config", instance: info(body.instance), dryRun: !!body.dryRun, changed: true, changes: [{ file: "main.cf", name: "relayhost", before: null, after: "[hub]" }] };
      case "probe": {
        const ok = h.probes?.shift() ?? true;
        if (h.probes && !h.probes.length) h.probes.push(ok);
        h.log.push(`probe ${body.instance} ${ok ? "ok" : "failed"}`);
        const hop = { syslogName: body.instance, instance: body.instance, queueId: "A1", status: ok ? "sent" : "deferred", latencyMs: 1 };
        return { id: 1, op: "probe", instance: info(body.instance), ok, outcome: "delivered", messageId: "<p@x>", injectedVia: "smtp 127.0.0.1:25", hops: [hop], ...(ok ? {} : { failure: { hop: body.instance, reason: "deferred: connect to 127.0.0.1[127.0.0.1]:10025: Connection refused" } }), removed: [], logFiles: [], durationMs: 1 };
      }
      case "queue":
        h.log.push(`queue ${body.instance}`);
        return { id: 1, op: "queue", instance: info(body.instance), counts: { active: 0, incoming: 0, deferred: 0, hold: 0, maildrop: 0 }, other: 0, oldestDeferredS: null, delayReasons: [], reasonsTruncated: false, badLines: 0, durationMs: 1 };
      case "revert":
        h.log.push(`revert ${body.action} ${body.instance}`);
        return { id: 1, op: "revert", instance: info(body.instance), action: body.action, files: { "main.cf": "bWFpbg==", "master.cf": "bWFzdGVy" }, sha256: { "main.cf": "m", "master.cf": "M" }, replaced: body.action === "restore" ? ["main.cf"] : [] };
      case "lock":
        h.locks = [...(h.locks ?? []), "lock"];
        return { id: 1, op: "lock", path: "/run/postfleet/agent.lock", holder: body.holder };
      case "unlock":
        h.locks = [...(h.locks ?? []), "unlock"];
        return { id: 1, op: "unlock", released: true };
      default:
        throw new Error(`unexpected ${body.op}`);
    }
  };
  return { host, request, agent: async () => ({ hello: { uid: 0 } }), close: async () => undefined } as unknown as RunHostSession;
}

function fleet(hosts: string[], fakes: Record<string, FakeHost>, clocks: Record<string, { t: number[] }>, forks = 10, stop?: AbortSignal) {
  const run = new FleetRun({
    targets: new Map(hosts.map((h) => [h, { name: h, address: h }])),
    forks,
    opTimeoutMs: 1000,
    agentBundle: "/nonexistent",
    transport: {},
    ...(stop ? { stop } : {}),
  });
  (run.pool as unknown as { get: (h: string) => RunHostSession }).get = (h) => fakeSession(h, fakes[h]!, clocks[h]!);
  return run;
}

const step = (index: number, action: StepAction, extra: Partial<ExecStep> = {}): ExecStep => ({
  index,
  name: `${action.type} ${index}`,
  selector: { kind: "all" },
  enabled: true,
  action,
  ...extra,
});

function play(hosts: string[], batches: string[][], steps: ExecStep[], extra: Partial<ExecPlay> = {}): ExecPlay {
  return { name: "p", pattern: "all", hosts, batches, pauseBetweenBatchesMs: 0, stepsFor: () => steps, ...extra };
}

function setup(n: number) {
  const hosts = Array.from({ length: n }, (_, i) => `h${i + 1}`);
  const fakes = Object.fromEntries(hosts.map((h) => [h, { log: [] } as FakeHost]));
  const clocks = Object.fromEntries(hosts.map((h) => [h, { t: [] as number[] }]));
  return { hosts, fakes, clocks };
}

describe("runPlaybook", () => {
  it("runs batches in lockstep and each host's restart in postmulti's order, gated", async () => {
    const { hosts, fakes, clocks } = setup(5);
    for (const h of hosts) fakes[h]!.delayMs = h === "h2" ? 30 : 2;
    const batches = [["h1"], ["h2", "h3"], ["h4", "h5"]];
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, batches, [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: false });
    expect(doc.summary).toMatchObject({ changed: 5, failed: 0 });
    expect(fakes.h1!.log).toEqual([
      "stop postfix-in", "stop postfix-out", "stop -",
      "start -", "health -", "start postfix-out", "health postfix-out", "start postfix-in", "health postfix-in",
    ]);
    const span = (h: string) => [Math.min(...clocks[h]!.t), Math.max(...clocks[h]!.t)];
    for (let b = 1; b < batches.length; b++) {
      const lastEnd = Math.max(...batches[b - 1]!.map((h) => span(h)[1]!));
      for (const h of batches[b]!) expect(span(h)[0], `${h} started before batch ${b} ended`).toBeGreaterThanOrEqual(lastEnd);
    }
    expect(doc.plays[0]!.batches.map((b) => b.hosts.map((h) => h.host))).toEqual(batches);
    // The host lock brackets each host's steps (root agent, not --check).
    for (const h of hosts) expect(fakes[h]!.locks).toEqual(["lock", "unlock"]);
  });

  it("a host lost in the middle of a step is unreachable, with the steps and instances it got through", async () => {
    const { hosts, fakes, clocks } = setup(2);
    fakes.h1!.loseAt = "start postfix-out";
    const steps = [step(0, { type: "restart", healthyTimeoutMs: 1000 }), step(1, { type: "reload", healthyTimeoutMs: 1000 })];
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], steps)] }, { check: false });
    const h1 = doc.plays[0]!.batches[0]!.hosts.find((h) => h.host === "h1")!;
    expect(h1.status).toBe("unreachable");
    expect(h1.steps.map((s) => s.status)).toEqual(["failed", "skipped"]);
    expect(h1.steps[1]!.skipped).toMatch(/the host was lost during step 1/);
    const inst = h1.steps[0]!.instances.map((i) => `${i.instance}: ${i.status} ${i.action}`);
    // One line per instance, as for a finished restart; none that did not come back is reported restarted.
    expect(inst).toEqual([
      expect.stringMatching(/^-: changed stopped, started, healthy after/),
      "postfix-out: failed state unknown: the host was lost during start postfix-out",
      "postfix-in: failed stopped, not started again",
    ]);
    expect(h1.steps[0]!.instances.find((i) => i.instance === "postfix-in")!.error).toMatch(/cut off before its turn/);
    expect(doc.hosts.find((h) => h.host === "h2")!.status).toBe("changed");
    expect(doc.retryHosts).toEqual(["h1"]);
  });

  it("stops when failures REACH max_fail, across batches: later batches skipped, retry list complete", async () => {
    const { hosts, fakes, clocks } = setup(6);
    fakes.h2!.failService = "start postfix-out";
    fakes.h3!.failService = "stop postfix-in";
    const batches = [["h1", "h2"], ["h3", "h4"], ["h5", "h6"]];
    const doc = await runPlaybook(
      fleet(hosts, fakes, clocks),
      { file: "p.yml", plays: [play(hosts, batches, [step(0, { type: "restart", healthyTimeoutMs: 1000 })], { maxFail: 2 })] },
      { check: false },
    );
    const status = Object.fromEntries(doc.hosts.map((h) => [h.host, h.status]));
    expect(status).toEqual({ h1: "changed", h2: "failed", h3: "failed", h4: "changed", h5: "skipped", h6: "skipped" });
    expect(doc.hosts.find((h) => h.host === "h5")!.error).toMatch(/^failure budget spent/);
    expect(fakes.h5!.log).toEqual([]);
    expect(doc.plays[0]!.stopped).toMatch(/failure budget spent: 2 hosts failed or unreachable, budget 2/);
    expect(doc.retryHosts).toEqual(["h2", "h3", "h5", "h6"]);
    // h2: postfix-out failed to start after the stops; postfix-in was never started again, and says so.
    const h2 = doc.plays[0]!.batches[0]!.hosts.find((h) => h.host === "h2")!;
    expect(fakes.h2!.log).not.toContain("start postfix-in");
    expect(h2.steps[0]!.instances.find((i) => i.instance === "postfix-in")!.error).toMatch(/not started again/);
  });

  it("announces each instance's transitions, its result, and every change of the failure budget (for the journal and --events)", async () => {
    const { hosts, fakes, clocks } = setup(2);
    fakes.h2!.failService = "start postfix-out";
    const run = fleet(hosts, fakes, clocks);
    const seen: string[] = [];
    run.events.on((e) => {
      if (e.type === "instance" && e.host === "h1" && e.instance === "-") seen.push(`${e.step}:${e.state}${e.status ? `=${e.status}` : ""}`);
      if (e.type === "budget") seen.push(`budget ${e.failures}/${e.maxFail}`);
      if (e.type === "step-started") seen.push(`step ${e.host} ${e.kind}`);
    });
    await runPlaybook(run, { file: "p.yml", plays: [play(hosts, [["h1"], ["h2"]], [step(0, { type: "restart", healthyTimeoutMs: 1000 })], { maxFail: 2 })] }, { check: false });
    expect(seen).toEqual([
      "step h1 restart",
      "0:stopping", "0:stopped", "0:starting", "0:started", "0:health_gate", "0:healthy", "0:done=changed",
      "step h2 restart",
      "budget 1/2",
    ]);
  });

  it("a halted run (its journal cannot be written) starts no new host, as a first Ctrl-C", async () => {
    const { hosts, fakes, clocks } = setup(3);
    const run = fleet(hosts, fakes, clocks);
    run.events.on((e) => {
      if (e.type === "host-finished" && e.outcome.host === "h1") run.halt("journal write failed");
    });
    const doc = await runPlaybook(run, { file: "p.yml", plays: [play(hosts, [["h1"], ["h2", "h3"]], [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: false });
    expect(Object.fromEntries(doc.hosts.map((h) => [h.host, h.status]))).toEqual({ h1: "changed", h2: "skipped", h3: "skipped" });
    expect(fakes.h2!.log).toEqual([]);
    expect(doc.aborted).toBe(true);
  });

  it("max_fail_per_batch stops only after a batch whose failures EXCEED it", async () => {
    const { hosts, fakes, clocks } = setup(6);
    fakes.h1!.failService = "stop -";
    fakes.h3!.failService = "stop -";
    fakes.h4!.failService = "stop -";
    const batches = [["h1", "h2"], ["h3", "h4"], ["h5", "h6"]];
    const doc = await runPlaybook(
      fleet(hosts, fakes, clocks),
      { file: "p.yml", plays: [play(hosts, batches, [step(0, { type: "stop", healthyTimeoutMs: 1000 })], { maxFailPerBatch: [1, 1, 1] })] },
      { check: false },
    );
    // Batch 1: 1 failure, not more than 1: go on. Batch 2: 2 failures > 1: stop.
    expect(doc.hosts.map((h) => h.status)).toEqual(["failed", "changed", "failed", "failed", "skipped", "skipped"]);
    expect(doc.plays[0]!.stopped).toMatch(/2 of 2 hosts failed in batch 2/);
  });

  it("a failed step skips the host's later steps; handlers run once, after the last step, restart winning over reload", async () => {
    const { hosts, fakes, clocks } = setup(2);
    fakes.h2!.failService = "stop postfix-in";
    const steps = [
      step(0, { type: "postconf", settings: { main: { relayhost: "[hub]" } } }, { then: "reload", selector: { kind: "names", names: ["postfix-out"] } }),
      step(1, { type: "postconf", settings: { main: { relayhost: "[hub]" } } }, { then: "restart", selector: { kind: "names", names: ["postfix-in"] } }),
      step(2, { type: "stop", healthyTimeoutMs: 1000 }, { selector: { kind: "names", names: ["postfix-in"] } }),
      step(3, { type: "start", healthyTimeoutMs: 1000 }, { selector: { kind: "names", names: ["postfix-in"] } }),
    ];
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], steps)] }, { check: false });
    // h1: postfix-in was restarted by steps 2–3 after its change, so only postfix-out's reload is left.
    expect(fakes.h1!.log.slice(-2)).toEqual(["reload postfix-out", "health postfix-out"]);
    expect(fakes.h1!.log.filter((l) => l.startsWith("reload"))).toHaveLength(1);
    const h2 = doc.plays[0]!.batches[0]!.hosts.find((h) => h.host === "h2")!;
    expect(h2.steps.map((s) => s.status)).toEqual(["changed", "changed", "failed", "skipped"]);
    expect(h2.steps[3]!.skipped).toMatch(/an earlier step failed/);
    expect(fakes.h2!.log.some((l) => l.startsWith("reload"))).toBe(false);
  });

  it("an interrupt starts no new host and no new step; the hosts in flight stop after their current step", async () => {
    const { hosts, fakes, clocks } = setup(4);
    for (const h of hosts) fakes[h]!.delayMs = 20;
    const stop = new AbortController();
    const run = fleet(hosts, fakes, clocks, 2, stop.signal);
    // Ctrl-C while h1's and h2's first stop is in flight (each takes 20 ms).
    run.events.on((e) => {
      if (e.type === "step-started" && e.host === "h1" && e.step === 0) setTimeout(() => stop.abort(), 8);
    });
    const steps = [step(0, { type: "stop", healthyTimeoutMs: 1000 }, { selector: { kind: "names", names: ["postfix-in"] } }), step(1, { type: "start", healthyTimeoutMs: 1000 })];
    const doc = await runPlaybook(run, { file: "p.yml", plays: [play(hosts, [hosts], steps)] }, { check: false });
    expect(doc.aborted).toBe(true);
    const byHost = Object.fromEntries(doc.plays[0]!.batches[0]!.hosts.map((h) => [h.host, h]));
    expect(byHost.h1!.steps.map((s) => s.status)).toEqual(["changed", "skipped"]);
    expect(byHost.h1!.incomplete).toBe("interrupted");
    expect(fakes.h1!.log).toEqual(["stop postfix-in"]);
    expect(byHost.h3!.status).toBe("skipped");
    expect(fakes.h3!.log).toEqual([]);
    expect(doc.retryHosts).toEqual(["h1", "h2", "h3", "h4"]);
  });

  it("a restart interrupted after a stop starts again what it stopped, and touches nothing else", async () => {
    const { hosts, fakes, clocks } = setup(1);
    fakes.h1!.delayMs = 20;
    const stop = new AbortController();
    const run = fleet(hosts, fakes, clocks, 1, stop.signal);
    run.events.on((e) => {
      if (e.type === "step-started") setTimeout(() => stop.abort(), 8); // while "stop postfix-in" is in flight
    });
    await runPlaybook(run, { file: "p.yml", plays: [play(hosts, [hosts], [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: false });
    expect(fakes.h1!.log).toEqual(["stop postfix-in", "start postfix-in", "health postfix-in"]);
  });

  it("a host lost while a restart stops: what it stopped is reported stopped and not started again, never restarted", async () => {
    const { hosts, fakes, clocks } = setup(1);
    fakes.h1!.loseAt = "stop postfix-out"; // postfix-in was stopped first (reverse order)
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: false });
    const h = doc.plays[0]!.batches[0]!.hosts[0]!;
    expect(h.status).toBe("unreachable");
    const inst = h.steps[0]!.instances.map((i) => `${i.instance}: ${i.status} ${i.action}`);
    expect(inst).toEqual(["postfix-in: failed stopped, not started again", "postfix-out: failed state unknown: the host was lost during stop postfix-out"]);
    expect(h.steps[0]!.instances[0]!.error).toMatch(/host was lost during the restart/);
  });

  it("a failed stop in a restart starts again what the step had stopped, and leaves the rest as it was", async () => {
    const { hosts, fakes, clocks } = setup(1);
    fakes.h1!.failService = "stop postfix-out";
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: false });
    expect(fakes.h1!.log).toEqual(["stop postfix-in", "stop postfix-out", "start postfix-in", "health postfix-in"]);
    const h = doc.plays[0]!.batches[0]!.hosts[0]!;
    expect(h.status).toBe("failed");
    const inst = h.steps[0]!.instances.map((i) => `${i.instance}: ${i.status}`);
    expect(inst).toEqual(["postfix-in: changed", "postfix-out: failed", "-: skipped"]);
    expect(h.steps[0]!.instances[2]!.action).toMatch(/^not restarted \(postfix-out failed first/);
  });

  it("--check sends every request as a dry run and runs no health gate", async () => {
    const { hosts, fakes, clocks } = setup(1);
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], [step(0, { type: "restart", healthyTimeoutMs: 1000 })])] }, { check: true });
    expect(doc.check).toBe(true);
    expect(fakes.h1!.log.some((l) => l.startsWith("health"))).toBe(false);
  });

  it("a reload step whose probe gate fails after a revert step: the instance is reloaded once after the restore, then only the gate runs again", async () => {
    const { hosts, fakes, clocks } = setup(1);
    fakes.h1!.probes = [false, true];
    const steps = [
      step(0, { type: "postconf", settings: { main: { relayhost: "[hub]" } } }, { selector: { kind: "names", names: ["postfix-out"] }, onGateFailure: "revert" }),
      step(1, { type: "reload", healthyTimeoutMs: 1000, gate: { probe: { instance: "postfix-in", outcome: "delivered", maxLatencyMs: 1000 }, queue: { maxDeferredGrowth: 0 } } }, { selector: { kind: "names", names: ["postfix-out"] } }),
    ];
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [play(hosts, [hosts], steps)] }, { check: false });
    const h = doc.plays[0]!.batches[0]!.hosts[0]!;
    expect(h.reverted).toBe(true);
    const log = fakes.h1!.log;
    const restored = log.indexOf("revert restore postfix-out");
    expect(restored).toBeGreaterThan(log.indexOf("probe postfix-in failed"));
    expect(log.slice(restored).filter((l) => l === "reload postfix-out")).toEqual(["reload postfix-out"]);
    // The queue gate's growth against a reading taken after the restore's reload (the step's own reading was before the change).
    expect(log.slice(restored)).toEqual(["revert restore postfix-out", "reload postfix-out", "health postfix-out", "queue postfix-out", "queue postfix-out", "probe postfix-in ok", "revert discard postfix-out"]);
    const revert = h.steps!.find((s) => s.type === "revert")!;
    expect(revert.status).toBe("changed");
    expect(revert.instances.map((i) => i.action)).toEqual(["restored main.cf as before step 1 (main.cf m, master.cf M)", expect.stringMatching(/^reloaded, healthy/), "gate again: queue: active 0, incoming 0, deferred 0 (+0), hold 0, maildrop 0", expect.stringMatching(/^gate again: mail flows \(delivered\)/)]);
  });

  it("canary: the stage runs first; promoted automatically once every canary host ended well; the stage is in the events and the document", async () => {
    const { hosts, fakes, clocks } = setup(3);
    const run = fleet(hosts, fakes, clocks);
    const events: string[] = [];
    run.events.on((e) => {
      if (e.type === "batch-started") events.push(`batch ${e.batch} ${e.stage}`);
      if (e.type === "stage") events.push(`${e.stage} ${e.outcome}`);
    });
    const p = play(hosts, [["h2"], ["h1", "h3"]], [step(0, { type: "reload", healthyTimeoutMs: 1000 })], { canary: { hosts: ["h2"], promote: "auto" } });
    const doc = await runPlaybook(run, { file: "p.yml", plays: [p] }, { check: false });
    expect(events).toEqual(["batch 0 canary", "canary promoted", "batch 1 rollout"]);
    expect(Math.max(...clocks.h2!.t)).toBeLessThanOrEqual(Math.min(...clocks.h1!.t, ...clocks.h3!.t));
    const r = doc.plays[0]!;
    expect(r.stages).toEqual([
      { stage: "canary", batches: [0], hosts: ["h2"], promote: "auto", outcome: "promoted", detail: "every canary host ended well: promoted automatically to the other 2 hosts" },
      { stage: "rollout", batches: [1], hosts: ["h1", "h3"] },
    ]);
    expect(r.batches.map((b) => [b.stage, b.hosts.map((h) => `${h.host} ${h.stage}`)])).toEqual([["canary", ["h2 canary"]], ["rollout", ["h1 rollout", "h3 rollout"]]]);
  });

  it("canary: a failure in the stage stops the play whatever the budget; no other host is touched", async () => {
    const { hosts, fakes, clocks } = setup(3);
    fakes.h1!.failService = "reload postfix-in";
    const p = play(hosts, [["h1"], ["h2", "h3"]], [step(0, { type: "reload", healthyTimeoutMs: 1000 })], { canary: { hosts: ["h1"], promote: "auto" }, maxFail: 3 });
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [p] }, { check: false });
    const r = doc.plays[0]!;
    expect(r.stopped).toBe("canary stage failed on h1 (1 of 1 canary host): not promoted, the other 2 hosts untouched");
    expect(r.stages![0]!.outcome).toBe("failed");
    expect(r.batches[1]!.hosts.map((h) => [h.host, h.status, h.error])).toEqual([
      ["h2", "skipped", r.stopped],
      ["h3", "skipped", r.stopped],
    ]);
    expect(fakes.h2!.log).toEqual([]);
    expect(fakes.h3!.log).toEqual([]);
    expect(doc.retryHosts).toEqual(["h1", "h2", "h3"]);
  });

  it("canary with promote: pause asks once between the stage and the next batch; abort stops the play there", async () => {
    for (const answer of [true, false]) {
      const { hosts, fakes, clocks } = setup(2);
      const asked: string[] = [];
      const p = play(hosts, [["h1"], ["h2"]], [step(0, { type: "reload", healthyTimeoutMs: 1000 })], { canary: { hosts: ["h1"], promote: "pause", soakMs: 2000 } });
      const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [p] }, { check: false, promote: async (t) => (asked.push(t), answer) });
      expect(asked).toEqual(["canary stage of play 'p' (h1): every canary host ended well, its gates held for 2 s. Promote to the other 1 host?"]);
      const r = doc.plays[0]!;
      if (answer) {
        expect(r.stages![0]).toMatchObject({ outcome: "promoted", detail: "every canary host ended well, its gates held for 2 s: promoted by the operator to the other 1 host" });
        expect(fakes.h2!.log.length).toBeGreaterThan(0);
      } else {
        expect(r.stopped).toBe("canary stage not promoted: the operator aborted; the other 1 host untouched");
        expect(r.batches[1]!.hosts[0]).toMatchObject({ host: "h2", status: "skipped", stage: "rollout" });
        expect(fakes.h2!.log).toEqual([]);
      }
    }
  });

  it("canary soak: every gate on a canary host holds that long; the other hosts' gates as written", async () => {
    const { hosts, fakes, clocks } = setup(2);
    const gate = { soakMs: 0, intervalMs: 50, healthyDeadlineMs: 5000, probe: { outcome: "delivered" as const, maxLatencyMs: 1000, instance: "postfix-in" } };
    const p = play(hosts, [["h1"], ["h2"]], [step(0, { type: "reload", healthyTimeoutMs: 1000, gate }, { selector: { kind: "names", names: ["postfix-in"] } })], { canary: { hosts: ["h1"], promote: "auto", soakMs: 300 } });
    const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [p] }, { check: false });
    const gateLine = (h: number) => doc.plays[0]!.batches[h]!.hosts[0]!.steps![0]!.instances.find((i) => i.instance === "(gate)")!.action;
    expect(gateLine(0)).toMatch(/^held for the 0\.3 s soak \(\d+ checks every 0\.05 s/);
    expect(fakes.h1!.log.filter((l) => l.startsWith("probe")).length).toBeGreaterThanOrEqual(5);
    expect(gateLine(1)).toMatch(/^held \(1 check every 0\.05 s\)$/);
  });

  it("canary, resumed: a stage whose hosts had all finished is decided before the next batch (asked again); once a later batch had started, not asked again", async () => {
    const doneHost = (host: string) => ({ host, status: "changed" as const, results: [], durationMs: 1, steps: [] });
    for (const started of [false, true]) {
      const { hosts, fakes, clocks } = setup(3);
      const asked: string[] = [];
      const p = play(hosts, [["h1"], ["h2"], ["h3"]], [step(0, { type: "reload", healthyTimeoutMs: 1000 })], { canary: { hosts: ["h1"], promote: "pause" } });
      const done = new Map(started ? [["h1", doneHost("h1")], ["h2", doneHost("h2")]] : [["h1", doneHost("h1")]]);
      const resume = [{ done, progress: new Map(), failures: 0, batchEnded: new Map() }];
      const doc = await runPlaybook(fleet(hosts, fakes, clocks), { file: "p.yml", plays: [p] }, { check: false, promote: async (t) => (asked.push(t), true), resume });
      expect(fakes.h1!.log).toEqual([]);
      expect(asked).toHaveLength(started ? 0 : 1);
      expect(doc.plays[0]!.stages![0]).toMatchObject({ outcome: "promoted", detail: started ? "promoted by the run this resume continues (a later batch had started)" : expect.stringMatching(/promoted by the operator/) });
      expect(fakes.h3!.log.length).toBeGreaterThan(0);
      expect(doc.plays[0]!.batches[0]!.hosts[0]).toMatchObject({ host: "h1", stage: "canary" });
    }
  });
});
