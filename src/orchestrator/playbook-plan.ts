// From a loaded playbook (src/playbook: validated, rendered per host) to
// what the engine executes. The two models stay separate so that the engine
// never depends on how a playbook is written.
import type { ConfigSpec } from "../protocol/index.js";
import type { ConfigSettings, Play, Playbook, Step } from "../playbook/index.js";
import type { ExecPlay, ExecPlaybook } from "./playbook-run.js";
import type { ExecStep, StepAction } from "./steps/step-model.js";

function spec(c: ConfigSettings): ConfigSpec {
  return {
    ...(Object.keys(c.main).length ? { main: c.main } : {}),
    ...(c.mainAbsent.length ? { mainAbsent: c.mainAbsent } : {}),
    ...(Object.keys(c.master).length ? { master: c.master } : {}),
  };
}

function action(s: Step): StepAction {
  switch (s.type) {
    case "instances":
      return { type: "instances", desired: s.instances.map((d) => ({ name: d.name, ...(d.group !== undefined ? { group: d.group } : {}), state: d.state, settings: spec(d.config) })) };
    case "postconf":
      return { type: "postconf", settings: spec(s.config) };
    case "start":
    case "stop":
    case "restart":
    case "reload":
      return { type: s.type, healthyTimeoutMs: s.healthyTimeoutMs, ...(s.gate ? { gate: s.gate } : {}) };
    case "wait":
      return { type: "wait", checks: s.checks, timeoutMs: s.timeoutMs, intervalMs: s.intervalMs, ...(s.probe ? { probe: s.probe } : {}), ...(s.gate ? { gate: s.gate } : {}) };
    case "drain":
      return { type: "drain", timeoutMs: s.timeoutMs };
    case "undrain":
      return { type: "undrain" };
    case "postmulti":
      return { type: "postmulti", args: s.args };
    case "run":
      return { type: "run", argv: s.argv, shell: s.shell };
    case "pause":
      return s.prompt !== undefined ? { type: "pause", ms: 0, prompt: s.prompt } : { type: "pause", ms: s.durationMs };
  }
}

export function execStep(s: Step): ExecStep {
  const then = s.type === "instances" || s.type === "postconf" ? s.then : undefined;
  const onGateFailure = s.type === "instances" || s.type === "postconf" ? s.onGateFailure : undefined;
  return {
    index: s.index,
    name: s.name,
    selector: "select" in s ? s.select : { kind: "all" },
    enabled: s.when?.result ?? true,
    ...(then ? { then } : {}),
    ...(onGateFailure ? { onGateFailure } : {}),
    action: action(s),
    location: `${s.location.file}:${s.location.line}:${s.location.column}`,
  };
}

export function execPlay(p: Play): ExecPlay {
  const canary = p.canary;
  return {
    name: p.name,
    pattern: p.pattern,
    hosts: p.batches.flat(),
    batches: p.batches,
    ...(p.maxFail !== null ? { maxFail: p.maxFail } : {}),
    ...(p.maxFailPerBatch ? { maxFailPerBatch: p.maxFailPerBatch } : {}),
    pauseBetweenBatchesMs: p.pauseBetweenBatchesMs,
    ...(p.progressDeadlineMs !== undefined ? { progressDeadlineMs: p.progressDeadlineMs } : {}),
    ...(canary ? { canary: { hosts: canary.hosts, promote: canary.promote, ...(canary.soakMs !== undefined ? { soakMs: canary.soakMs } : {}) } } : {}),
    stepsFor: (host) => (p.steps[host] ?? []).map(execStep),
  };
}

export function planPlaybook(pb: Playbook): ExecPlaybook {
  return { file: pb.file, plays: pb.plays.map(execPlay) };
}
