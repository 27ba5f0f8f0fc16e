// convergeInstances against a scripted agent: the exact request sequence and
// the per-instance results (fakes are for unit tests only; the lab test in
// test/integration/orchestrator/converge.test.ts uses real hosts).
import { describe, expect, it } from "vitest";
import { AgentRequestError } from "../../../../src/transport/index.js";
import type { RunHostSession } from "../../../../src/orchestrator/host-session.js";
import { convergeInstances, EARLIER_FAILED, FROM_SPEC_ONLY } from "../../../../src/orchestrator/steps/converge.js";
import type { DesiredInstanceSpec } from "../../../../src/orchestrator/steps/step-model.js";
import type { StepContext } from "../../../../src/orchestrator/steps/step-context.js";
import type {
  AgentRequest,
  AgentResponse,
  ConfigResponse,
  FactsResponse,
  InstanceFacts,
  ParamChange,
  PostmultiResponse,
  ServiceResponse,
} from "../../../../src/protocol/index.js";

type Body = Omit<AgentRequest, "id"> & Record<string, unknown>;
type Answer = (req: Body) => AgentResponse | Error;

const primary: InstanceFacts = {
  name: "-",
  group: "-",
  enabled: true,
  configDirectory: "/etc/postfix",
  primary: true,
  queueDirectory: "/var/spool/postfix",
  dataDirectory: "/var/lib/postfix",
  running: true,
};
const secondary = (name: string, o: Partial<InstanceFacts> = {}): InstanceFacts => ({
  ...primary,
  name,
  group: "mta",
  primary: false,
  configDirectory: `/etc/${name}`,
  queueDirectory: `/var/spool/${name}`,
  dataDirectory: `/var/lib/${name}`,
  ...o,
});
const facts = (instances: InstanceFacts[], initialised: boolean): FactsResponse => ({
  id: 1,
  op: "facts",
  postfixVersion: "3.7.11",
  nodeVersion: "v18.19.0",
  agentVersion: "test",
  hostname: "mta01",
  instances,
  multiInstanceWrapper: initialised ? "/usr/sbin/postmulti -p --" : "",
  multiInstanceEnable: initialised,
});

const pm = (o: Partial<PostmultiResponse> = {}): PostmultiResponse => ({ id: 1, op: "postmulti", exitCode: 0, dryRun: false, changed: true, results: [], warnings: [], ...o });
const fatal = (message: string): PostmultiResponse => pm({ exitCode: 1, changed: false, error: { message, code: "failed" } });
const change = (name: string, before: string | null, after: string | null): ParamChange => ({ file: "main.cf", name, before, after });
const cfg = (changes: ParamChange[]): ConfigResponse => ({
  id: 1,
  op: "config",
  instance: { name: "-", group: "-", enabled: true, configDirectory: "/etc/postfix", primary: true },
  dryRun: false,
  changed: changes.length > 0,
  changes,
});
const stopped = (o: Partial<ServiceResponse> = {}): ServiceResponse => ({
  id: 1,
  op: "service",
  instance: { name: "postfix-out", group: "mta", enabled: true, configDirectory: "/etc/postfix-out", primary: false },
  action: "stop",
  via: "postfix",
  command: ["/usr/sbin/postfix", "-c", "/etc/postfix-out", "stop"],
  exitCode: 0,
  stdout: "",
  stderr: "",
  durationMs: 5,
  changed: true,
  dryRun: false,
  ...o,
});

/** A StepContext whose agent answers from `answers`, in order, recording every request. */
interface FakeOptions {
  /** Names only an earlier step's prediction holds (--check). */
  predicted?: string[];
  /** Answers interrupted() (the first Ctrl-C) after this many requests. */
  interruptAfter?: number;
}

function scripted(hostFacts: FactsResponse, answers: Answer[], check = false, o: FakeOptions = {}) {
  const requests: Body[] = [];
  let invalidated = 0;
  const session = {
    host: "mta01",
    async request(body: Body) {
      requests.push(body);
      const next = answers.shift();
      if (!next) throw new Error(`unexpected request ${JSON.stringify(body)}`);
      const r = next(body);
      if (r instanceof Error) throw r;
      return r;
    },
  };
  const ctx: StepContext = {
    host: "mta01",
    session: session as unknown as RunHostSession,
    check,
    opTimeoutMs: 60_000,
    hardStop: new AbortController().signal,
    facts: async () => hostFacts,
    invalidateFacts: () => void invalidated++,
    interrupted: () => (o.interruptAfter !== undefined && requests.length >= o.interruptAfter ? "interrupted (Ctrl-C)" : undefined),
    predict: () => {
      throw new Error("convergeInstances leaves predictions to the engine");
    },
    predicted: (name) => (o.predicted ?? []).includes(name),
    doing: () => {},
    prompt: async () => {},
  };
  return { ctx, requests, invalidated: () => invalidated, left: () => answers.length };
}

/** The requests as short lines: "postmulti -e init", "config postfix-out", "service stop postfix-out", "facts queues". */
const lines = (reqs: Body[]) =>
  reqs.map((r) => {
    const dry = r.dryRun ? " (dry)" : "";
    switch (r.op) {
      case "postmulti":
        return `postmulti ${(r.args as string[]).join(" ")}${dry}`;
      case "config":
        return `config ${r.instance as string}${dry}`;
      case "service":
        return `service ${r.action as string} ${r.instance as string}${dry}`;
      case "facts":
        return `facts${r.queues ? " queues" : ""}`;
      default:
        return r.op;
    }
  });

const NULL_CLIENT = { main: { relayhost: "[mailhub.example.com]", mydestination: "" } };
const OUT = { main: { inet_interfaces: "loopback-only", master_service_disable: "" } };
const IN = { main: { inet_interfaces: "127.0.0.1" } };
const border: DesiredInstanceSpec[] = [
  { name: "-", state: "enabled", settings: NULL_CLIENT },
  { name: "postfix-out", group: "mta", state: "enabled", settings: OUT },
  { name: "postfix-in", group: "mta", state: "enabled", settings: IN },
];
const twoChanges = () => cfg([change("a", null, "1"), change("b", "x", "y")]);

describe("convergeInstances", () => {
  it("builds the border MTA on a fresh host: init, then per instance create, settings, enable; reports per instance", async () => {
    const s = scripted(facts([primary], false), [
      () => pm(),
      () => twoChanges(),
      () => pm(),
      () => twoChanges(),
      () => pm(),
      () => pm(),
      () => cfg([change("inet_interfaces", "all", "127.0.0.1")]),
      () => pm(),
    ]);
    const { results, changed } = await convergeInstances(s.ctx, border);
    expect(lines(s.requests)).toEqual([
      "postmulti -e init",
      "config -",
      "postmulti -I postfix-out -G mta -e create",
      "config postfix-out",
      "postmulti -i postfix-out -e enable",
      "postmulti -I postfix-in -G mta -e create",
      "config postfix-in",
      "postmulti -i postfix-in -e enable",
    ]);
    expect(s.requests[1]).toMatchObject({ op: "config", instance: "-", set: NULL_CLIENT, dryRun: false });
    expect(results.map((r) => [r.instance, r.status, r.action])).toEqual([
      ["-", "changed", "2 settings"],
      ["postfix-out", "changed", "multi-instance support initialised, created, 2 settings, enabled"],
      ["postfix-in", "changed", "created, 1 setting, enabled"],
    ]);
    expect(results[1]!.commands).toEqual(["postmulti -e init", "postmulti -I postfix-out -G mta -e create", "postmulti -i postfix-out -e enable"]);
    expect(results[2]!.changes).toEqual([change("inet_interfaces", "all", "127.0.0.1")]);
    expect(changed).toEqual(["-", "postfix-out", "postfix-in"]);
    // init, 2 creates, 2 enables: the cached facts were dropped after each.
    expect(s.invalidated()).toBe(5);
  });

  it("on a converged host: only settings are asked, nothing changes, every instance says unchanged", async () => {
    const s = scripted(facts([primary, secondary("postfix-out"), secondary("postfix-in")], true), [() => cfg([]), () => cfg([]), () => cfg([])]);
    const { results, changed } = await convergeInstances(s.ctx, border);
    expect(lines(s.requests)).toEqual(["config -", "config postfix-out", "config postfix-in"]);
    expect(results.map((r) => [r.instance, r.status, r.action])).toEqual([
      ["-", "ok", "unchanged"],
      ["postfix-out", "ok", "unchanged"],
      ["postfix-in", "ok", "unchanged"],
    ]);
    expect(changed).toEqual([]);
    expect(s.invalidated()).toBe(0);
  });

  it("stops at the first failed instance with postmulti's message; later instances untouched and skipped", async () => {
    const desired: DesiredInstanceSpec[] = [
      { name: "out", group: "mta", state: "enabled", settings: {} },
      { name: "postfix-in", group: "mta", state: "enabled", settings: IN },
    ];
    const s = scripted(facts([primary], true), [() => fatal("New instance name must start with 'postfix-'")]);
    const { results, changed } = await convergeInstances(s.ctx, desired);
    expect(lines(s.requests)).toEqual(["postmulti -I out -G mta -e create"]);
    expect(results[0]).toMatchObject({ instance: "out", status: "failed", action: "failed", error: "postmulti -I out -G mta -e create: New instance name must start with 'postfix-'" });
    expect(results[1]).toMatchObject({ instance: "postfix-in", status: "skipped", action: `not converged: ${EARLIER_FAILED}` });
    expect(changed).toEqual([]);
  });

  it("a command that failed after touching files: facts dropped, not reported as done, earlier work kept in the action", async () => {
    const s = scripted(facts([primary], true), [() => pm(), () => twoChanges(), () => ({ ...fatal("postconf: fatal: open /etc/postfix-out/main.cf: Permission denied"), changed: true })]);
    const { results, changed } = await convergeInstances(s.ctx, [border[1]!]);
    expect(results[0]).toMatchObject({
      status: "failed",
      action: "created, 2 settings; then failed",
      error: "postmulti -i postfix-out -e enable: postconf: fatal: open /etc/postfix-out/main.cf: Permission denied",
    });
    expect(changed).toEqual(["postfix-out"]);
    expect(s.invalidated()).toBe(2);
  });

  it("a failed init fails the instance that needed it and leaves every instance untouched", async () => {
    const s = scripted(facts([primary], false), [() => fatal("cannot update main.cf")]);
    const { results } = await convergeInstances(s.ctx, border);
    expect(lines(s.requests)).toEqual(["postmulti -e init"]);
    expect(results.map((r) => r.status)).toEqual(["skipped", "failed", "skipped"]);
    expect(results[1]!.error).toBe("postmulti -e init failed: postmulti -e init: cannot update main.cf");
  });

  it("check mode on a fresh host: every request a dry run; a new instance's settings diffed by the agent as the create would make it", async () => {
    const notInit = () => fatal("multi_instance_wrapper is empty, run 'postmulti -e init' first.");
    // As created, postfix-out has master_service_disable = inet: only inet_interfaces and that one differ.
    const outChanges = [
      { ...change("inet_interfaces", null, "loopback-only"), defaultValue: "all" },
      change("master_service_disable", "inet", ""),
    ];
    const inChanges = [{ ...change("inet_interfaces", null, "127.0.0.1"), defaultValue: "all" }];
    const s = scripted(
      facts([primary], false),
      [
        () => pm({ dryRun: true }),
        () => ({ ...twoChanges(), dryRun: true, changed: true }),
        notInit,
        () => ({ ...cfg(outChanges), dryRun: true }),
        notInit,
        () => ({ ...cfg(inChanges), dryRun: true }),
      ],
      true,
    );
    const { results, changed } = await convergeInstances(s.ctx, border);
    expect(lines(s.requests)).toEqual([
      "postmulti -e init (dry)",
      "config - (dry)",
      "postmulti -I postfix-out -G mta -e create (dry)",
      "config postfix-out (dry)",
      "postmulti -I postfix-in -G mta -e create (dry)",
      "config postfix-in (dry)",
    ]);
    expect(s.requests[3]).toEqual({ op: "config", instance: "postfix-out", set: OUT, dryRun: true, newInstance: { group: "mta" } });
    // The primary exists: asked plainly.
    expect(s.requests[1]).not.toHaveProperty("newInstance");
    expect(results.map((r) => [r.instance, r.status, r.action])).toEqual([
      ["-", "changed", "would change 2 settings"],
      ["postfix-out", "changed", "would initialise multi-instance support, create, change 2 settings, enable"],
      ["postfix-in", "changed", "would create, change 1 setting, enable"],
    ]);
    expect(results[1]!.changes).toEqual(outChanges);
    expect(results[2]!.changes).toEqual(inChanges);
    expect(results[2]!.commands).toEqual(["postmulti -I postfix-in -G mta -e create", "postmulti -i postfix-in -e enable"]);
    expect(changed).toEqual(["-", "postfix-out", "postfix-in"]);
    expect(s.invalidated()).toBe(0);
  });

  it("check mode: a new instance whose settings the create already gives is not counted as changed by them", async () => {
    const s = scripted(facts([primary], true), [() => pm({ dryRun: true }), () => ({ ...cfg([]), dryRun: true })], true);
    const { results, changed } = await convergeInstances(s.ctx, [{ name: "postfix-x", state: "disabled", settings: { main: { master_service_disable: "inet" } } }]);
    expect(lines(s.requests)).toEqual(["postmulti -I postfix-x -e create (dry)", "config postfix-x (dry)"]);
    expect(s.requests[1]).toMatchObject({ newInstance: {} });
    expect(results[0]).toMatchObject({ status: "changed", action: "would create" });
    expect(results[0]!.changes).toBeUndefined();
    expect(changed).toEqual([]);
  });

  it("check mode with an agent that cannot simulate a new instance: the settings come from the spec alone, and it says so", async () => {
    const old = (): ConfigResponse => ({ ...cfg([]), dryRun: true, error: { message: "No instance named postfix-in", code: "not-found" } });
    const s = scripted(facts([primary], true), [() => pm({ dryRun: true }), old], true);
    const { results, changed } = await convergeInstances(s.ctx, [border[2]!]);
    expect(results[0]).toMatchObject({ status: "changed", action: `would create, change 1 setting (${FROM_SPEC_ONLY}), enable` });
    expect(results[0]!.changes).toEqual([{ file: "main.cf", name: "inet_interfaces", before: null, after: "127.0.0.1" }]);
    expect(changed).toEqual(["postfix-in"]);
  });

  it("check mode: a create the agent's simulation refuses fails the instance with the agent's reason", async () => {
    const refused = (): ConfigResponse => ({ ...cfg([]), dryRun: true, error: { message: "Missing main.cf prototype: /etc/postfix/main.cf.proto", code: "failed" } });
    const s = scripted(facts([primary], true), [() => pm({ dryRun: true }), refused], true);
    const { results } = await convergeInstances(s.ctx, [border[2]!]);
    expect(results[0]).toMatchObject({ status: "failed", error: "settings of postfix-in: Missing main.cf prototype: /etc/postfix/main.cf.proto" });
  });

  it("check mode still reports postmulti's naming rules (checked before the init one)", async () => {
    const s = scripted(facts([primary], false), [() => pm({ dryRun: true }), () => fatal("New instance name must start with 'postfix-'")], true);
    const { results } = await convergeInstances(s.ctx, [{ name: "out", state: "enabled", settings: {} }]);
    expect(results[0]).toMatchObject({ status: "failed", error: "postmulti -I out -e create: New instance name must start with 'postfix-'" });
  });

  it("absent: queue checked, stopped, disabled, destroyed, in that order; destroy's warnings kept", async () => {
    const out = secondary("postfix-out");
    const s = scripted(facts([primary, out], true), [
      () => facts([primary, { ...out, queues: { maildrop: 0, incoming: 0, active: 0, deferred: 0, hold: 0, corrupt: 0 } }], true),
      () => stopped(),
      () => pm(),
      () => pm({ warnings: ["/var/lib/postfix-out: please verify contents and remove by hand"] }),
    ]);
    const { results, changed } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(lines(s.requests)).toEqual(["facts queues", "service stop postfix-out", "postmulti -i postfix-out -e disable", "postmulti -i postfix-out -e destroy"]);
    expect(results[0]).toMatchObject({ status: "changed", action: "stopped, disabled, destroyed" });
    expect(results[0]!.commands).toEqual(["/usr/sbin/postfix -c /etc/postfix-out stop", "postmulti -i postfix-out -e disable", "postmulti -i postfix-out -e destroy"]);
    expect(results[0]!.stderr).toBe("postmulti: warning: /var/lib/postfix-out: please verify contents and remove by hand\n");
    expect(changed).toEqual([]);
    expect(s.invalidated()).toBe(3);
  });

  it("absent with mail in the queue: nothing is touched, the reason is the instance's error", async () => {
    const out = secondary("postfix-out");
    const s = scripted(facts([primary, out], true), [() => facts([primary, { ...out, queues: { maildrop: 0, incoming: 0, active: 1, deferred: 2, hold: 0, corrupt: 0 } }], true)]);
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(lines(s.requests)).toEqual(["facts queues"]);
    expect(results[0]).toMatchObject({ status: "failed" });
    expect(results[0]!.error).toMatch(/^postfix-out is not destroyed: its queue still holds 3 messages \(active 1, deferred 2\)/);
  });

  it("absent where the queues cannot be read (not root): nothing is touched, unknown is not empty", async () => {
    const out = secondary("postfix-out");
    const why = "cannot read /var/spool/postfix-out/maildrop (EACCES)";
    const s = scripted(facts([primary, out], true), [() => facts([primary, { ...out, queueError: why }], true)]);
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(lines(s.requests)).toEqual(["facts queues"]);
    expect(results[0]).toMatchObject({ status: "failed" });
    expect(results[0]!.error).toBe(`postfix-out is not destroyed: whether its queue is empty cannot be told (${why}); nothing was touched`);
  });

  it("absent in check mode: dry runs throughout; destroy's refusal of a still enabled instance is expected there", async () => {
    const out = secondary("postfix-out");
    const s = scripted(
      facts([primary, out], true),
      [() => facts([primary, out], true), () => stopped({ dryRun: true }), () => pm({ dryRun: true }), () => fatal("Cannot remove enabled instances")],
      true,
    );
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(lines(s.requests)).toEqual(["facts queues", "service stop postfix-out (dry)", "postmulti -i postfix-out -e disable (dry)", "postmulti -i postfix-out -e destroy (dry)"]);
    expect(results[0]).toMatchObject({ status: "changed", action: "would stop, disable, destroy" });
  });

  it("a refused destroy outside check mode is the instance's error (never forced)", async () => {
    const out = secondary("postfix-out", { enabled: false, running: false });
    const s = scripted(facts([primary, out], true), [() => facts([primary, out], true), () => fatal("Instance '/etc/postfix-out' is not stopped")]);
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(results[0]).toMatchObject({ status: "failed", error: "postmulti -i postfix-out -e destroy: Instance '/etc/postfix-out' is not stopped" });
  });

  it("group change and disable of a running instance: assign, stop, disable", async () => {
    const s = scripted(facts([primary, secondary("postfix-out", { group: "old" })], true), [() => pm(), () => stopped(), () => pm()]);
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", group: "mta", state: "disabled", settings: {} }]);
    expect(lines(s.requests)).toEqual(["postmulti -i postfix-out -G mta -e assign", "service stop postfix-out", "postmulti -i postfix-out -e disable"]);
    expect(results[0]).toMatchObject({ status: "changed", action: "assigned to group mta, stopped, disabled" });
  });

  it("a disabled instance that still runs is stopped through postmulti -x (which reports no file change) and counts as changed", async () => {
    const s = scripted(facts([primary, secondary("postfix-out", { enabled: false, running: true })], true), [() => pm({ changed: false })]);
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", state: "disabled", settings: {} }]);
    expect(lines(s.requests)).toEqual(["postmulti -i postfix-out -x postfix stop"]);
    expect(results[0]).toMatchObject({ status: "changed", action: "stopped", commands: ["postmulti -i postfix-out -x postfix stop"] });
    expect(s.invalidated()).toBe(1);
  });

  it("says so when a new instance will start after an existing one listed later", async () => {
    const s = scripted(facts([primary, secondary("postfix-in")], true), [() => pm(), () => pm()]);
    const { results } = await convergeInstances(s.ctx, [
      { name: "postfix-out", group: "mta", state: "enabled", settings: {} },
      { name: "postfix-in", group: "mta", state: "enabled", settings: {} },
    ]);
    expect(results[0]!.action).toBe(
      "created, enabled; note: starts after postfix-in, listed later (postmulti appends new instances to multi_instance_directories; this step does not reorder them)",
    );
    expect(results[1]!.action).toBe("unchanged");
  });

  it("an agent's refusal of a request fails that instance; other errors propagate to the engine", async () => {
    const refusal = new AgentRequestError("mta01", { code: "usage", message: "unknown op: config" });
    const s = scripted(facts([primary], true), [() => refusal]);
    const { results } = await convergeInstances(s.ctx, [{ name: "-", state: "enabled", settings: NULL_CLIENT }]);
    expect(results[0]).toMatchObject({ status: "failed", error: "settings of -: unknown op: config" });

    const lost = scripted(facts([primary], true), [() => new Error("connection lost")]);
    await expect(convergeInstances(lost.ctx, [{ name: "-", state: "enabled", settings: NULL_CLIENT }])).rejects.toThrow("connection lost");
  });

  it("an interrupt (first Ctrl-C) starts no further operation: the instance in progress says what was left, later ones are skipped", async () => {
    const s = scripted(facts([primary], true), [() => pm(), () => twoChanges()], false, { interruptAfter: 2 });
    const { results } = await convergeInstances(s.ctx, border.slice(1));
    expect(lines(s.requests)).toEqual(["postmulti -I postfix-out -G mta -e create", "config postfix-out"]);
    expect(results[0]).toMatchObject({
      status: "changed",
      action: "created, 2 settings; not finished (interrupted (Ctrl-C)): postmulti -i postfix-out -e enable not done",
    });
    expect(results[1]).toMatchObject({ status: "skipped", action: "not converged: interrupted (Ctrl-C)" });
  });

  it("check mode after an earlier instances step: its predicted instances are reported, never asked about, and need no init", async () => {
    const out = secondary("postfix-out", { enabled: false, running: false, group: "-" });
    const s = scripted(facts([primary, out], false), [], true, { predicted: ["postfix-out"] });
    const { results } = await convergeInstances(s.ctx, [{ name: "postfix-out", group: "mta", state: "enabled", settings: IN }]);
    expect(s.requests).toEqual([]);
    expect(results[0]).toMatchObject({ status: "changed", action: "would assign to group mta, change 1 setting, enable" });
    expect(results[0]!.commands).toEqual(["postmulti -i postfix-out -G mta -e assign", "postmulti -i postfix-out -e enable"]);
  });

  it("a primary listed as absent is refused without any request", async () => {
    const s = scripted(facts([primary], true), []);
    const { results } = await convergeInstances(s.ctx, [{ name: "-", state: "absent", settings: {} }]);
    expect(s.requests).toEqual([]);
    expect(results[0]).toMatchObject({ status: "failed" });
    expect(results[0]!.error).toMatch(/primary instance cannot be destroyed/);
  });
});
