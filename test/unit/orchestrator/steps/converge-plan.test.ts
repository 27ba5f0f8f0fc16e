import { describe, expect, it } from "vitest";
import type { FactsResponse, InstanceFacts } from "../../../../src/protocol/index.js";
import { describePlan, planConverge, predictedChanges, STILL_ENABLED, STILL_RUNNING } from "../../../../src/orchestrator/steps/converge-plan.js";
import type { DesiredInstanceSpec } from "../../../../src/orchestrator/steps/step-model.js";

type Facts = Pick<FactsResponse, "instances" | "multiInstanceWrapper" | "multiInstanceEnable">;

const primary = (o: Partial<InstanceFacts> = {}): InstanceFacts => ({
  name: "-",
  group: "-",
  enabled: true,
  configDirectory: "/etc/postfix",
  primary: true,
  queueDirectory: "/var/spool/postfix",
  dataDirectory: "/var/lib/postfix",
  running: true,
  ...o,
});
const secondary = (name: string, o: Partial<InstanceFacts> = {}): InstanceFacts => ({
  name,
  group: "mta",
  enabled: true,
  configDirectory: `/etc/${name}`,
  primary: false,
  queueDirectory: `/var/spool/${name}`,
  dataDirectory: `/var/lib/${name}`,
  running: true,
  ...o,
});
const WRAPPER = "/usr/sbin/postmulti -p --";
const fresh: Facts = { instances: [primary()], multiInstanceWrapper: "", multiInstanceEnable: false };
const multi = (...inst: InstanceFacts[]): Facts => ({ instances: [primary(), ...inst], multiInstanceWrapper: WRAPPER, multiInstanceEnable: true });

const NULL_CLIENT = { main: { relayhost: "[mailhub.example.com]", mydestination: "" } };
const OUT = { main: { inet_interfaces: "loopback-only" }, master: { "smtp/inet": null } };
const IN = { main: { inet_interfaces: "127.0.0.1" } };
const border: DesiredInstanceSpec[] = [
  { name: "-", state: "enabled", settings: NULL_CLIENT },
  { name: "postfix-out", group: "mta", state: "enabled", settings: OUT },
  { name: "postfix-in", group: "mta", state: "enabled", settings: IN },
];

describe("planConverge", () => {
  it("fresh host: init first, then each instance created in the desired order, configured, enabled", () => {
    const plan = planConverge(fresh, border, { check: false });
    expect(plan.init).toEqual({ forIndex: 1 });
    expect(describePlan(plan)).toEqual([
      "postmulti -e init",
      "config -",
      "postmulti -I postfix-out -G mta -e create",
      "config postfix-out",
      "postmulti -i postfix-out -e enable",
      "postmulti -I postfix-in -G mta -e create",
      "config postfix-in",
      "postmulti -i postfix-in -e enable",
    ]);
    expect(plan.instances.map((p) => [p.name, p.exists])).toEqual([
      ["-", true],
      ["postfix-out", false],
      ["postfix-in", false],
    ]);
  });

  it("already converged: only the settings are asked about (the agent knows what differs), nothing else", () => {
    const facts = multi(secondary("postfix-out"), secondary("postfix-in"));
    expect(describePlan(planConverge(facts, border, { check: false }))).toEqual(["config -", "config postfix-out", "config postfix-in"]);
    const bare = border.map((d) => ({ ...d, settings: {} }));
    const plan = planConverge(facts, bare, { check: false });
    expect(plan.init).toBeNull();
    expect(describePlan(plan)).toEqual([]);
  });

  it("a group that differs is assigned; `-` removes the group; no group given leaves it alone", () => {
    const facts = multi(secondary("postfix-out", { group: "old" }), secondary("postfix-in"), secondary("postfix-x"));
    const plan = planConverge(
      facts,
      [
        { name: "postfix-out", group: "mta", state: "enabled", settings: {} },
        { name: "postfix-in", group: "-", state: "enabled", settings: {} },
        { name: "postfix-x", state: "enabled", settings: {} },
      ],
      { check: false },
    );
    expect(describePlan(plan)).toEqual(["postmulti -i postfix-out -G mta -e assign", "postmulti -i postfix-in -G - -e assign"]);
  });

  it("a new instance without a group is created without -G; a disabled one is created and left disabled", () => {
    const plan = planConverge(multi(), [{ name: "postfix-spare", state: "disabled", settings: {} }], { check: false });
    expect(plan.init).toBeNull();
    expect(describePlan(plan)).toEqual(["postmulti -I postfix-spare -e create"]);
  });

  it("enable a disabled instance (never started here); disable a running one: stop first, then disable", () => {
    const facts = multi(secondary("postfix-out", { enabled: false, running: false }), secondary("postfix-in"), secondary("postfix-idle", { running: false }));
    const plan = planConverge(
      facts,
      [
        { name: "postfix-out", state: "enabled", settings: {} },
        { name: "postfix-in", state: "disabled", settings: {} },
        { name: "postfix-idle", state: "disabled", settings: {} },
      ],
      { check: false },
    );
    expect(describePlan(plan)).toEqual([
      "postmulti -i postfix-out -e enable",
      "service stop postfix-in",
      "postmulti -i postfix-in -e disable",
      "postmulti -i postfix-idle -e disable",
    ]);
  });

  it("a disabled but running instance is stopped with postmulti -x (postmulti -p and service skip disabled instances)", () => {
    const facts = multi(secondary("postfix-out", { enabled: false, running: true }));
    expect(describePlan(planConverge(facts, [{ name: "postfix-out", state: "disabled", settings: {} }], { check: false }))).toEqual([
      "postmulti -i postfix-out -x postfix stop",
    ]);
  });

  it("absent: queue checked, then stop, disable, destroy in that order; an absent instance that does not exist is left alone", () => {
    const facts = multi(secondary("postfix-out"), secondary("postfix-old", { enabled: false, running: false }));
    const plan = planConverge(
      facts,
      [
        { name: "postfix-out", state: "absent", settings: {} },
        { name: "postfix-old", state: "absent", settings: {} },
        { name: "postfix-gone", state: "absent", settings: {} },
      ],
      { check: false },
    );
    expect(describePlan(plan)).toEqual([
      "queue-check postfix-out",
      "service stop postfix-out",
      "postmulti -i postfix-out -e disable",
      "postmulti -i postfix-out -e destroy",
      "queue-check postfix-old",
      "postmulti -i postfix-old -e destroy",
    ]);
    // Nothing to be tolerated outside --check.
    expect(plan.instances[0]!.ops.some((o) => "tolerate" in o)).toBe(false);
    expect(plan.instances[2]!.ops).toEqual([]);
  });

  it("absent instances alone never trigger postmulti -e init", () => {
    expect(planConverge(fresh, [{ name: "postfix-out", state: "absent", settings: {} }], { check: false }).init).toBeNull();
  });

  it("the primary carries settings (the null client's) and needs no init by itself; it cannot be disabled or destroyed", () => {
    const plan = planConverge(fresh, [{ name: "-", state: "enabled", settings: NULL_CLIENT }], { check: false });
    expect(plan.init).toBeNull();
    expect(describePlan(plan)).toEqual(["config -"]);
    expect(plan.instances[0]!.ops).toEqual([{ kind: "settings", settings: NULL_CLIENT }]);
    const bad = planConverge(multi(), [{ name: "-", state: "disabled", settings: {} }, { name: "-", state: "absent", settings: {} }], { check: false });
    expect(bad.instances[0]!.refused).toMatch(/primary instance cannot be disabled/);
    expect(bad.instances[1]!.refused).toMatch(/listed twice/);
    expect(planConverge(multi(), [{ name: "-", state: "absent", settings: {} }], { check: false }).instances[0]!.refused).toMatch(/cannot be destroyed/);
  });

  it("short names find existing instances as postmulti -i does (out = postfix-out)", () => {
    const plan = planConverge(multi(secondary("postfix-out", { enabled: false })), [{ name: "out", state: "enabled", settings: {} }], { check: false });
    expect(plan.instances[0]).toMatchObject({ name: "postfix-out", arg: "postfix-out", exists: true });
    expect(describePlan(plan)).toEqual(["postmulti -i postfix-out -e enable"]);
  });

  it("check mode: a new instance's settings are asked as created (newInstance), its enable predicted; refusals caused by simulated steps are tolerated", () => {
    const plan = planConverge(fresh, border, { check: true });
    expect(describePlan(plan)).toEqual([
      "postmulti -e init",
      "config -",
      "postmulti -I postfix-out -G mta -e create",
      "config postfix-out (as created)",
      "postmulti -i postfix-out -e enable (predicted)",
      "postmulti -I postfix-in -G mta -e create",
      "config postfix-in (as created)",
      "postmulti -i postfix-in -e enable (predicted)",
    ]);
    const create = plan.instances[1]!.ops[0]!;
    expect(create).toMatchObject({ kind: "create", tolerate: ["run 'postmulti -e init' first"] });
    // The group the create gives it; none without one (and "-" is none, as for create's -G).
    expect(plan.instances[1]!.ops[1]).toEqual({ kind: "settings", settings: OUT, newInstance: { group: "mta" } });
    const plain = planConverge(multi(), [
      { name: "postfix-a", state: "disabled", settings: IN },
      { name: "postfix-b", group: "-", state: "disabled", settings: IN },
    ], { check: true });
    expect(plain.instances.map((p) => p.ops)).toEqual([
      [{ kind: "create", args: ["-I", "postfix-a", "-e", "create"] }, { kind: "settings", settings: IN, newInstance: {} }],
      [{ kind: "create", args: ["-I", "postfix-b", "-e", "create"] }, { kind: "settings", settings: IN, newInstance: {} }],
    ]);
    // Outside --check the settings are applied to the created instance, no simulation.
    expect(planConverge(multi(), [{ name: "postfix-a", state: "disabled", settings: IN }], { check: false }).instances[0]!.ops[1]).toEqual({ kind: "settings", settings: IN });
    // The primary's settings are asked about (it exists).
    expect(plan.instances[0]!.ops[0]).toEqual({ kind: "settings", settings: NULL_CLIENT });

    const absent = planConverge(multi(secondary("postfix-out")), [{ name: "postfix-out", state: "absent", settings: {} }], { check: true });
    expect(absent.instances[0]!.ops.at(-1)).toEqual({ kind: "destroy", args: ["-i", "postfix-out", "-e", "destroy"], tolerate: [STILL_RUNNING, STILL_ENABLED] });
    // On an initialized host nothing is predicted for existing instances.
    const existing = planConverge(multi(secondary("postfix-out", { enabled: false })), [{ name: "postfix-out", state: "enabled", settings: IN }], { check: true });
    expect(describePlan(existing)).toEqual(["config postfix-out", "postmulti -i postfix-out -e enable"]);
  });

  it("check mode after an earlier step's prediction: predicted instances need no init and every operation on them is predicted", () => {
    const facts: Facts = { instances: [primary(), secondary("postfix-out", { enabled: true, running: false })], multiInstanceWrapper: "", multiInstanceEnable: false };
    const plan = planConverge(facts, [{ name: "postfix-out", state: "absent", settings: {} }], { check: true, predicted: (n) => n === "postfix-out" });
    expect(plan.init).toBeNull();
    expect(describePlan(plan)).toEqual(["postmulti -i postfix-out -e disable (predicted)", "postmulti -i postfix-out -e destroy (predicted)"]);
    // Outside --check there are no predictions.
    expect(describePlan(planConverge(facts, [{ name: "postfix-out", state: "absent", settings: {} }], { check: false, predicted: () => true }))).toEqual([
      "queue-check postfix-out",
      "postmulti -i postfix-out -e disable",
      "postmulti -i postfix-out -e destroy",
    ]);
  });

  it("notes an instance that will start after one listed later (new instances are appended; nothing is reordered)", () => {
    const plan = planConverge(multi(secondary("postfix-in")), border, { check: false });
    expect(plan.instances.map((p) => p.orderNote)).toEqual([
      undefined,
      "starts after postfix-in, listed later (postmulti appends new instances to multi_instance_directories; this step does not reorder them)",
      undefined,
    ]);
    expect(planConverge(fresh, border, { check: false }).instances.every((p) => p.orderNote === undefined)).toBe(true);
    // An instance to be destroyed does not count.
    const gone = planConverge(multi(secondary("postfix-in")), [border[1]!, { name: "postfix-in", state: "absent", settings: {} }], { check: false });
    expect(gone.instances[0]!.orderNote).toBeUndefined();
  });

  it("predictedChanges: the spec as changes from nothing", () => {
    expect(
      predictedChanges({
        main: { relayhost: " [hub] " },
        mainAbsent: ["soft_bounce"],
        master: { "smtp/inet": null, "127.0.0.1:10026/inet": { command: "smtpd", chroot: "n", syslog_name: "out" } },
      }),
    ).toEqual([
      { file: "main.cf", name: "relayhost", before: null, after: "[hub]" },
      { file: "main.cf", name: "soft_bounce", before: null, after: null },
      { file: "master.cf", name: "smtp/inet", before: null, after: null, kind: "entry" },
      { file: "master.cf", name: "127.0.0.1:10026/inet/command", before: null, after: "smtpd", kind: "field" },
      { file: "master.cf", name: "127.0.0.1:10026/inet/chroot", before: null, after: "n", kind: "field" },
      { file: "master.cf", name: "127.0.0.1:10026/inet/syslog_name", before: null, after: "out", kind: "param" },
    ]);
  });
});
