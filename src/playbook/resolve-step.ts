// A step, rendered for one host and checked by its schema, turned into the
// plain data the executor runs: selectors, settings as strings, durations in
// milliseconds, health checks in the agent's terms.

import type { z } from "zod";
import { PROBE_MAX_LATENCY_MS, type HealthCheck } from "../protocol/index.js";
import { parseDuration } from "./duration.js";
import { toBool, TemplateError } from "./host-templates.js";
import type { STEP_SCHEMAS, StepType } from "./schema.js";
import type { ConfigSettings, DesiredInstance, GateSettings, InstanceSelector, ProbeSettings, QueueGateSettings, Step } from "./types.js";
import type { Path } from "./yaml-source.js";

/** A value that rendered to something the step cannot use, at `path` (relative to the step). */
export class StepValueError extends Error {
  constructor(
    readonly path: Path,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULTS = {
  healthyTimeoutMs: 30_000,
  waitTimeoutMs: 60_000,
  waitIntervalMs: 1_000,
  drainTimeoutMs: 300_000,
  gateIntervalMs: 5_000,
} as const;

type Parsed<T extends StepType> = z.output<(typeof STEP_SCHEMAS)[T]>;
/** What every step type gets from the loader; the rest comes from here. */
type StepHead = { index: number; name: string; location: Step["location"]; when?: Step["when"] };

/** main.cf and master.cf values as postconf takes them: numbers as written, booleans as yes/no. */
export function paramText(v: string | number | boolean): string {
  return typeof v === "boolean" ? (v ? "yes" : "no") : String(v);
}

function ms(v: unknown, path: Path, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const d = parseDuration(v);
  if (d === undefined) throw new StepValueError(path, `'${String(v)}' is not a duration (a number of seconds, or "30s", "2m", "1h30m", "500ms")`);
  return d;
}

function bool(v: unknown, path: Path): boolean {
  try {
    return toBool(v);
  } catch (e) {
    if (e instanceof TemplateError) throw new StepValueError(path, `${String(path[path.length - 1])} ${e.message}`);
    throw e;
  }
}

function selector(v: Parsed<"start">["instances"]): InstanceSelector {
  if (v === undefined || v === "all") return { kind: "all" };
  if (v === "enabled") return { kind: "enabled" };
  if (Array.isArray(v)) return { kind: "names", names: [...v] };
  return { kind: "group", group: v.group };
}

type RawSettings = NonNullable<Parsed<"postconf">["postconf"]>;

function settings(s: RawSettings, path: Path = []): ConfigSettings {
  const main: Record<string, string> = {};
  // A {{ template }} renders to the mapping before this; a string here rendered to none.
  if (typeof s.main_cf === "string") throw new StepValueError([...path, "main_cf"], `main_cf must be a mapping of main.cf parameters, not the text '${s.main_cf}'`);
  for (const [k, v] of Object.entries(s.main_cf ?? {})) main[k] = paramText(v);
  const master: ConfigSettings["master"] = {};
  for (const [entry, fields] of Object.entries(s.master_cf ?? {})) {
    if (fields === null) master[entry] = null;
    else master[entry] = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === null ? null : paramText(v)]));
  }
  return { main, mainAbsent: [...(s.main_cf_absent ?? [])], master };
}

function desired(d: Parsed<"instances">["instances"][number]): DesiredInstance {
  const out: DesiredInstance = { name: d.name, state: d.state ?? "enabled", config: settings(d) };
  if (d.group !== undefined) out.group = d.group;
  return out;
}

function waitChecks(w: Parsed<"wait">["wait"]): HealthCheck[] {
  const checks: HealthCheck[] = [];
  if (w.master !== undefined && bool(w.master, ["wait", "master"])) checks.push({ kind: "master" });
  if (w.smtp === true) checks.push({ kind: "smtp" });
  else if (w.smtp) {
    const c: HealthCheck = { kind: "smtp" };
    if (w.smtp.address !== undefined) c.address = w.smtp.address;
    if (w.smtp.port !== undefined) {
      if (typeof w.smtp.port !== "number" || w.smtp.port > 65535) throw new StepValueError(["wait", "smtp", "port"], `port must be a TCP port number, not '${String(w.smtp.port)}'`);
      c.port = w.smtp.port;
    }
    checks.push(c);
  }
  if (w.queue && w.queue.max !== undefined) {
    if (typeof w.queue.max !== "number") throw new StepValueError(["wait", "queue", "max"], `max must be a whole number, not '${String(w.queue.max)}'`);
    checks.push({ kind: "queue", max: w.queue.max });
  }
  if (w.command) checks.push({ kind: "command", argv: [...w.command] });
  if (!checks.length && w.probe === undefined && !w.queue) throw new StepValueError(["wait"], "wait needs at least one check: master, smtp, queue, command or probe");
  return checks;
}

const PROBE_OUTCOMES: readonly ProbeSettings["outcome"][] = ["delivered", "accepted", "verify"];

type RawProbe = true | { outcome?: string; sender?: string; recipient?: string; max_latency?: unknown; address?: string; port?: unknown; instance?: string };

function probeSettings(raw: RawProbe, path: Path): ProbeSettings {
  const p = raw === true ? {} : raw;
  const outcome = p.outcome ?? "delivered";
  if (!PROBE_OUTCOMES.includes(outcome as ProbeSettings["outcome"])) throw new StepValueError([...path, "outcome"], `outcome must be one of ${PROBE_OUTCOMES.join(", ")}, not '${outcome}'`);
  const out: ProbeSettings = { outcome: outcome as ProbeSettings["outcome"], maxLatencyMs: ms(p.max_latency, [...path, "max_latency"], PROBE_MAX_LATENCY_MS) };
  if (p.instance !== undefined) out.instance = p.instance;
  if (p.sender !== undefined) out.sender = p.sender;
  if (p.recipient !== undefined) out.recipient = p.recipient;
  if (p.address !== undefined) out.address = p.address;
  if (p.port !== undefined) {
    if (typeof p.port !== "number" || p.port > 65535) throw new StepValueError([...path, "port"], `port must be a TCP port number, not '${String(p.port)}'`);
    out.port = p.port;
  }
  return out;
}

type RawQueueGate = Partial<Record<"max_active" | "max_incoming" | "max_deferred" | "max_hold" | "max_maildrop" | "max_deferred_growth", unknown>> & { max_oldest_deferred?: unknown; no_new_delay_reason?: unknown };
const QUEUE_COUNTS = [
  ["max_active", "maxActive"],
  ["max_incoming", "maxIncoming"],
  ["max_deferred", "maxDeferred"],
  ["max_hold", "maxHold"],
  ["max_maildrop", "maxMaildrop"],
  ["max_deferred_growth", "maxDeferredGrowth"],
] as const;

/** The queue gate's limits; undefined when none is given (a wait's queue may hold only `max`). */
function queueGate(q: RawQueueGate, path: Path): QueueGateSettings | undefined {
  const out: QueueGateSettings = {};
  for (const [raw, key] of QUEUE_COUNTS) {
    const v = q[raw];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new StepValueError([...path, raw], `${raw} must be a whole number (0 or more), not '${String(v)}'`);
    out[key] = v;
  }
  if (q.max_oldest_deferred !== undefined) out.maxOldestDeferredMs = ms(q.max_oldest_deferred, [...path, "max_oldest_deferred"], 0);
  if (q.no_new_delay_reason !== undefined) out.noNewDelayReason = bool(q.no_new_delay_reason, [...path, "no_new_delay_reason"]);
  return Object.keys(out).length ? out : undefined;
}

type RawSoak = { soak?: unknown; interval?: unknown; healthy_deadline?: unknown };

/**
 * soak / interval / healthy_deadline of a gate (path: where they are written).
 * The deadline defaults to the step's own time to become healthy plus the soak.
 */
function soakSettings(raw: RawSoak, path: Path, healthyMs: number, intervalDefault: number, intervalPath: Path = [...path, "interval"]): Pick<GateSettings, "soakMs" | "intervalMs" | "healthyDeadlineMs"> {
  const out: Pick<GateSettings, "soakMs" | "intervalMs" | "healthyDeadlineMs"> = {};
  const soak = ms(raw.soak, [...path, "soak"], 0);
  if (raw.soak === undefined && raw.healthy_deadline === undefined) return out;
  const interval = ms(raw.interval, intervalPath, intervalDefault);
  if (interval <= 0) throw new StepValueError(intervalPath, "interval must be more than 0 with soak or healthy_deadline (the gate is re-checked every interval)");
  const deadline = ms(raw.healthy_deadline, [...path, "healthy_deadline"], healthyMs + soak);
  if (deadline < soak)
    throw new StepValueError([...path, "healthy_deadline"], `healthy_deadline (${deadline / 1000} s) is shorter than the soak (${soak / 1000} s): the gate could never hold for the soak within it`);
  if (soak > 0 && interval > soak) throw new StepValueError(intervalPath, `interval (${interval / 1000} s) is longer than the soak (${soak / 1000} s): the soak would be checked only at its two ends`);
  return { soakMs: soak, intervalMs: interval, healthyDeadlineMs: deadline };
}

type RawGate = RawSoak & { probe?: RawProbe; queue?: RawQueueGate };

function gateSettings(raw: RawGate, path: Path, healthyMs: number): GateSettings | undefined {
  const g: GateSettings = { ...soakSettings(raw, path, healthyMs, DEFAULTS.gateIntervalMs) };
  if (raw.probe !== undefined) g.probe = probeSettings(raw.probe, [...path, "probe"]);
  const q = raw.queue ? queueGate(raw.queue, [...path, "queue"]) : undefined;
  if (q) g.queue = q;
  if (raw.interval !== undefined && g.intervalMs === undefined) throw new StepValueError([...path, "interval"], "interval is the pause between checks of a soak: give soak (or healthy_deadline) too");
  return Object.keys(g).length ? g : undefined;
}

/** The typed step for one host from its rendered, schema-checked value. */
export function resolveStep(type: StepType, parsed: Parsed<StepType>, head: StepHead): Step {
  switch (type) {
    case "instances": {
      const p = parsed as Parsed<"instances">;
      const s: Step = { ...head, type, instances: p.instances.map(desired) };
      if (p.then) s.then = p.then;
      if (p.on_gate_failure) s.onGateFailure = p.on_gate_failure;
      return s;
    }
    case "postconf": {
      const p = parsed as Parsed<"postconf">;
      const config = settings(p.postconf, ["postconf"]);
      if (!Object.keys(config.main).length && !config.mainAbsent.length && !Object.keys(config.master).length) {
        throw new StepValueError(["postconf"], "postconf needs at least one of main_cf, main_cf_absent, master_cf");
      }
      const s: Step = { ...head, type, select: selector(p.instances), config };
      if (p.then) s.then = p.then;
      if (p.on_gate_failure) s.onGateFailure = p.on_gate_failure;
      return s;
    }
    case "start":
    case "stop":
    case "restart":
    case "reload": {
      const p = parsed as Parsed<"start"> & Record<string, unknown>;
      const gate = p[type] as { healthy_timeout?: unknown; gate?: RawGate } | null;
      const s: Step = { ...head, type, select: selector(p.instances), healthyTimeoutMs: ms(gate?.healthy_timeout, [type, "healthy_timeout"], DEFAULTS.healthyTimeoutMs) };
      const g = gate?.gate ? gateSettings(gate.gate, [type, "gate"], s.healthyTimeoutMs) : undefined;
      if (g) s.gate = g;
      return s;
    }
    case "wait": {
      const p = parsed as Parsed<"wait">;
      const timeoutMs = ms(p.wait.timeout, ["wait", "timeout"], DEFAULTS.waitTimeoutMs);
      const gate: GateSettings = soakSettings(p.wait, ["wait"], timeoutMs, DEFAULTS.waitIntervalMs);
      const q = p.wait.queue ? queueGate(p.wait.queue, ["wait", "queue"]) : undefined;
      if (q) gate.queue = q;
      return {
        ...head,
        type,
        select: selector(p.instances),
        checks: waitChecks(p.wait),
        timeoutMs,
        intervalMs: ms(p.wait.interval, ["wait", "interval"], DEFAULTS.waitIntervalMs),
        ...(p.wait.probe !== undefined ? { probe: probeSettings(p.wait.probe, ["wait", "probe"]) } : {}),
        ...(Object.keys(gate).length ? { gate } : {}),
      };
    }
    case "drain": {
      const p = parsed as Parsed<"drain">;
      return { ...head, type, select: selector(p.instances), timeoutMs: ms(p.drain?.timeout, ["drain", "timeout"], DEFAULTS.drainTimeoutMs) };
    }
    case "undrain":
      return { ...head, type, select: selector((parsed as Parsed<"undrain">).instances) };
    case "postmulti":
      return { ...head, type, args: [...(parsed as Parsed<"postmulti">).postmulti] };
    case "run": {
      const p = parsed as Parsed<"run">;
      if (Array.isArray(p.run)) return { ...head, type, select: selector(p.instances), argv: [...p.run], shell: false };
      const shell = p.run.shell === undefined ? false : bool(p.run.shell, ["run", "shell"]);
      const argv = p.run.argv;
      if (shell && Array.isArray(argv)) throw new StepValueError(["run", "argv"], 'with shell: true, argv is one command line (a string), e.g. argv: "postqueue -p | tail -1"');
      if (!shell && !Array.isArray(argv)) throw new StepValueError(["run", "argv"], "argv is a list of arguments (no shell); to run a command line through /bin/sh, add shell: true");
      return { ...head, type, select: selector(p.instances), argv: Array.isArray(argv) ? [...argv] : [argv], shell };
    }
    case "pause": {
      const p = parsed as Parsed<"pause">;
      if (p.pause !== null && typeof p.pause === "object") return { ...head, type, prompt: p.pause.prompt };
      return { ...head, type, durationMs: ms(p.pause, ["pause"], 0) };
    }
  }
}
