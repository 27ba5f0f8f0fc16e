import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { schemaText, SCHEMA_FILE } from "../../../scripts/playbook-schema.js";
import { loadPlaybook, PlaybookError, renderListHosts, type InstancesStep, type Playbook } from "../../../src/playbook/index.js";
import { fleetIni, inventoryOf } from "../../support/playbook-files.js";

const DIR = resolve(import.meta.dirname, "../../../playbooks");
const SHIPPED = ["config-rollout.yml", "create-instances.yml", "destroy-instance.yml", "reload-group.yml", "rolling-restart.yml"];

async function loadShipped(name: string, o: { hosts?: number; extraVars?: Record<string, unknown>; limit?: string } = {}): Promise<Playbook> {
  const { inventory } = await inventoryOf(fleetIni(o.hosts ?? 20));
  return loadPlaybook(join(DIR, name), { inventory, interactive: false, extraVars: o.extraVars ?? {}, ...(o.limit ? { limit: o.limit } : {}) });
}

describe("playbooks/schema.json", () => {
  it("is what `npm run schema` generates from src/playbook/schema.ts (run it after changing the schema)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(schemaText());
  });

  it("documents every play key and step type", () => {
    const schema = JSON.parse(schemaText()) as { items: { properties: Record<string, { description?: string }> } };
    const play = schema.items.properties;
    expect(Object.keys(play).sort()).toEqual(["canary", "hosts", "max_fail", "max_fail_per_batch", "name", "order", "pause_between_batches", "progress_deadline", "serial", "steps", "vars"]);
    for (const [k, v] of Object.entries(play)) expect(v.description, k).toMatch(/\w/);
    expect(play["max_fail"]!.description).toMatch(/REACHES/);
  });

  it("read as plain JSON Schema (what editors see), it accepts the shipped playbooks and rejects typical mistakes", () => {
    const editor = z.fromJSONSchema(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")) as Parameters<typeof z.fromJSONSchema>[0]);
    for (const f of SHIPPED) expect(editor.safeParse(parse(readFileSync(join(DIR, f), "utf8"))).success, f).toBe(true);
    const bad = (play: Record<string, unknown>) => editor.safeParse([{ hosts: "all", steps: [{ restart: null }], ...play }]).success;
    expect(bad({})).toBe(true);
    expect(bad({ serial: "lots" })).toBe(false);
    expect(bad({ tasks: [] })).toBe(false);
    expect(bad({ pause_between_batches: "soon" })).toBe(false);
    expect(bad({ steps: [{ restart: null, bogus: 1 }] })).toBe(false);
    expect(bad({ steps: [{ restart: { healthy_timeout: "1m30s" }, instances: { group: "mta" } }] })).toBe(true);
    expect(bad({ steps: [{ postconf: { master_cf: { smtp: { command: "smtpd" } } } }] })).toBe(false);
  });

  it("every shipped playbook points editors at it on line 1", () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith(".yml")).sort();
    expect(files).toEqual(SHIPPED);
    for (const f of files) expect(readFileSync(join(DIR, f), "utf8").split("\n")[0], f).toBe("# yaml-language-server: $schema=./schema.json");
  });
});

describe("shipped playbooks validate against a small inventory", () => {
  it("rolling-restart.yml: enabled instances, serial [1, 10%, 25%], 5% budget, health-gated restart, drain off by default", async () => {
    const pb = await loadShipped("rolling-restart.yml");
    const play = pb.plays[0]!;
    expect(play.hosts).toHaveLength(20);
    expect(play.batches.map((b) => b.length)).toEqual([1, 2, 5, 5, 5, 2]);
    expect(play.maxFail).toBe(1);
    const steps = play.steps["mta07"]!;
    expect(steps.map((s) => [s.type, s.when?.result ?? true])).toEqual([
      ["drain", false],
      ["stop", false],
      ["undrain", false],
      ["restart", true],
      ["wait", false],
    ]);
    expect(steps[3]).toMatchObject({ select: { kind: "enabled" }, healthyTimeoutMs: 30_000 });
    const drained = await loadShipped("rolling-restart.yml", { hosts: 100, extraVars: { drain: "true", drain_timeout: "90s" } });
    const d = drained.plays[0]!;
    expect(d.maxFail).toBe(5);
    expect(d.batches.map((b) => b.length)).toEqual([1, 10, 25, 25, 25, 14]);
    expect(d.steps["mta01"]!.map((s) => s.when?.result ?? true)).toEqual([true, true, true, true, false]);
    expect(d.steps["mta01"]![0]).toMatchObject({ type: "drain", timeoutMs: 90_000 });
    // -e gives strings: a number of seconds is still a duration.
    const slow = await loadShipped("rolling-restart.yml", { hosts: 2, extraVars: { healthy_timeout: "45" } });
    expect(slow.plays[0]!.steps["mta02"]![3]).toMatchObject({ type: "restart", healthyTimeoutMs: 45_000 });
  });

  it("rolling-restart.yml -e probe=true: a probe into probe_instance after the restart, its settings from vars", async () => {
    const pb = await loadShipped("rolling-restart.yml", { hosts: 2, extraVars: { probe: "true", probe_timeout: "20s", probe_recipient: "probe@sink.example" } });
    const wait = pb.plays[0]!.steps["mta02"]![4]!;
    expect(wait).toMatchObject({
      type: "wait",
      when: { result: true },
      select: { kind: "names", names: ["postfix-in"] },
      checks: [],
      timeoutMs: 20_000,
      intervalMs: 5_000,
      probe: { outcome: "delivered", maxLatencyMs: 30_000, sender: "postfleet-probe@postfleet.invalid", recipient: "probe@sink.example" },
    });
    await expect(loadShipped("rolling-restart.yml", { hosts: 2, extraVars: { probe: "true", probe_outcome: "bounced" } })).rejects.toThrow(/rendered as the string 'bounced': outcome is delivered, accepted or verify/);
  });

  it("config-rollout.yml: -e main_cf onto -e instance, canary first, budget 1, revert on a failed probe/queue/soak gate", async () => {
    const pb = await loadShipped("config-rollout.yml", { hosts: 20, extraVars: { instance: "postfix-out", main_cf: { relayhost: "[hub.example.net]:25" } } });
    const play = pb.plays[0]!;
    expect(play.batches.map((b) => b.length)).toEqual([1, 2, 5, 5, 5, 2]);
    expect(play.canary).toEqual({ hosts: ["mta01"], promote: "auto", soakMs: 10_000 });
    expect(play.batches[0]).toEqual(["mta01"]);
    expect(play.maxFail).toBe(1);
    const [apply, reload] = play.steps["mta01"]!;
    expect(apply).toMatchObject({ type: "postconf", select: { kind: "names", names: ["postfix-out"] }, config: { main: { relayhost: "[hub.example.net]:25" } }, onGateFailure: "revert" });
    expect(reload).toMatchObject({
      type: "reload",
      select: { kind: "names", names: ["postfix-out"] },
      gate: { probe: { instance: "postfix-in", outcome: "delivered" }, queue: { maxDeferredGrowth: 0, noNewDelayReason: true }, soakMs: 10_000, intervalMs: 5_000, healthyDeadlineMs: 40_000 },
    });
    // Without settings there is nothing to roll out; a main_cf that is no mapping is refused.
    await expect(loadShipped("config-rollout.yml", { hosts: 2 })).rejects.toThrow(/postconf needs at least one of main_cf/);
    await expect(loadShipped("config-rollout.yml", { hosts: 2, extraVars: { main_cf: "relayhost=x" } })).rejects.toThrow(/rendered as the string 'relayhost=x': main_cf is a mapping of main\.cf parameters/);
  });

  it("create-instances.yml: the MULTI_INSTANCE_README border MTA", async () => {
    const pb = await loadShipped("create-instances.yml", { extraVars: { mailhub: "[hub.example.net]" } });
    const play = pb.plays[0]!;
    expect(play.batches.map((b) => b.length)).toEqual([5, 5, 5, 5]);
    const [converge, start] = play.steps["mta01"]! as [InstancesStep, ...unknown[]];
    expect(converge.type).toBe("instances");
    expect(converge.then).toBe("reload");
    expect(converge.instances.map((i) => [i.name, i.group, i.state])).toEqual([
      ["-", undefined, "enabled"],
      ["postfix-out", "mta", "enabled"],
      ["postfix-in", "mta", "enabled"],
    ]);
    const [primary, out, input] = converge.instances;
    expect(primary!.config.main).toMatchObject({ master_service_disable: "inet", mydestination: "", relayhost: "[hub.example.net]", local_transport: "error:5.1.1 Mailbox unavailable" });
    expect(out!.config.master).toEqual({
      "smtp/inet": null,
      "127.0.0.1:10026/inet": { private: "n", unprivileged: "-", chroot: "n", wakeup: "-", process_limit: "-", command: "smtpd" },
    });
    expect(out!.config.main).toMatchObject({
      inet_interfaces: "loopback-only",
      smtpd_recipient_restrictions: "permit_mynetworks, reject",
      smtpd_client_connection_count_limit: "0",
      relay_domains: "example.com, .example.com",
      master_service_disable: "",
      authorized_submit_users: "root",
    });
    expect(input!.config.main).toMatchObject({
      inet_interfaces: "127.0.0.1",
      default_transport: "smtp:[127.0.0.1]:10025",
      relay_transport: "$default_transport",
      smtp_send_xforward_command: "yes",
      smtp_destination_recipient_limit: "1000",
      master_service_disable: "",
      authorized_submit_users: "root",
    });
    expect(start).toMatchObject({ type: "start", select: { kind: "enabled" } });
  });

  it("reload-group.yml: one group's instances, the group from a variable, batched", async () => {
    const pb = await loadShipped("reload-group.yml", { extraVars: { group: "edge" }, limit: "fra" });
    const play = pb.plays[0]!;
    expect(play.hosts).toHaveLength(10);
    expect(play.batches.map((b) => b.length)).toEqual([2, 2, 2, 2, 2]);
    expect(play.steps["mta03"]).toEqual([
      expect.objectContaining({ type: "reload", name: "Reload the instances of group edge", select: { kind: "group", group: "edge" }, healthyTimeoutMs: 30_000 }),
    ]);
  });

  it("destroy-instance.yml: absent (which stops after the queue check); the instance must be named", async () => {
    const pb = await loadShipped("destroy-instance.yml", { extraVars: { instance: "postfix-in" }, hosts: 3 });
    const play = pb.plays[0]!;
    expect(play.batches).toEqual([["mta01"], ["mta02"], ["mta03"]]);
    expect(play.steps["mta02"]!.map((s) => s.type)).toEqual(["instances"]);
    expect(play.steps["mta02"]![0]).toMatchObject({ name: "Stop, disable and destroy postfix-in" });
    expect((play.steps["mta02"]![0] as InstancesStep).instances).toEqual([{ name: "postfix-in", state: "absent", config: { main: {}, mainAbsent: [], master: {} } }]);
    const file = join(DIR, "destroy-instance.yml");
    const e = await loadShipped("destroy-instance.yml", { hosts: 3 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PlaybookError);
    const lines = (e as PlaybookError).message.split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${file.replace(/[.]/g, "\\.")}:\\d+:\\d+: hosts mta01, mta02, mta03: 'instance' is undefined`));
    const bad = await loadShipped("destroy-instance.yml", { extraVars: { instance: "in" }, hosts: 1 }).catch((x: unknown) => x);
    expect((bad as Error).message).toMatch(/destroy-instance\.yml:\d+:\d+: host mta01: instance name 'in' must start with "postfix-"/);
  });

  it("--list-hosts shows each play's hosts batch by batch", async () => {
    const pb = await loadShipped("rolling-restart.yml", { hosts: 12 });
    expect(renderListHosts(pb)).toBe(
      [
        `playbook: ${join(DIR, "rolling-restart.yml")}`,
        "",
        "  play #1 (all): Rolling restart of the enabled instances",
        "    order inventory, failure budget 1 host (the play stops when it is reached)",
        "    hosts (12):",
        "      batch 1 (1 host): mta01",
        "      batch 2 (1 host): mta02",
        "      batch 3 (3 hosts): mta03, mta04, mta05",
        "      batch 4 (3 hosts): mta06, mta07, mta08",
        "      batch 5 (3 hosts): mta09, mta10, mta11",
        "      batch 6 (1 host): mta12",
        "",
      ].join("\n"),
    );
  });
});
