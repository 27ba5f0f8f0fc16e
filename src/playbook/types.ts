// A loaded playbook as the run engine uses it: plain data (JSON-safe), every
// template rendered for its host, every duration in milliseconds, every step
// with the place it was written.

import type { HealthCheck, ProbeOutcome } from "../protocol/index.js";
import type { SourceLocation } from "./yaml-source.js";

export type { SourceLocation } from "./yaml-source.js";

export type HostOrder = "inventory" | "reverse_inventory" | "sorted" | "reverse_sorted" | "shuffle";

/** Which instances of a host a step acts on. Names may include "-" (the primary). */
export type InstanceSelector = { kind: "all" } | { kind: "enabled" } | { kind: "names"; names: string[] } | { kind: "group"; group: string };

/** main.cf / master.cf settings (the agent's ConfigSpec, plus whole master.cf entries to remove). */
export interface ConfigSettings {
  /** main.cf name → value (postconf -e where different). */
  main: Record<string, string>;
  /** main.cf parameters to remove (postconf -X where set). */
  mainAbsent: string[];
  /** "service/type" → field or -o parameter → value (null: remove the -o parameter); null entry: remove the entry (postconf -MX). */
  master: Record<string, Record<string, string | null> | null>;
}

export interface DesiredInstance {
  /** multi_instance_name, or "-" for the primary. */
  name: string;
  /** multi_instance_group; undefined: left as it is (new instances get none). */
  group?: string;
  state: "enabled" | "disabled" | "absent";
  config: ConfigSettings;
}

/** The `when` of a step, evaluated for one host. */
export interface WhenResult {
  /** As written. */
  expression: string;
  /** Rendered text before the boolean reading. */
  rendered: string;
  /** False: the step is skipped on this host. */
  result: boolean;
}

interface StepBase {
  /** Position in the play's steps (0-based); the same step has the same index on every host. */
  index: number;
  /** The step's name, or a default such as "restart". */
  name: string;
  location: SourceLocation;
  when?: WhenResult;
}

export type ThenAction = "reload" | "restart";

/** A mail-flow probe (the agent's probe request): where it enters, what it must reach, how fast. */
export interface ProbeSettings {
  /** Gates: the instance the probe enters (default: the first selected instance that is not the primary). */
  instance?: string;
  outcome: ProbeOutcome;
  sender?: string;
  recipient?: string;
  maxLatencyMs: number;
  address?: string;
  port?: number;
}

/** Limits on one instance's queues (postqueue -j); growth and new delay reasons against a reading before the step. */
export interface QueueGateSettings {
  maxActive?: number;
  maxIncoming?: number;
  maxDeferred?: number;
  maxHold?: number;
  maxMaildrop?: number;
  maxDeferredGrowth?: number;
  maxOldestDeferredMs?: number;
  noNewDelayReason?: boolean;
}

/**
 * What must hold on a host after a start/restart/reload step (or during a
 * wait): a list of checks (the probe, the queue limits), checked once, or
 * with `soakMs` continuously for that long (every `intervalMs`), within
 * `healthyDeadlineMs`.
 */
export interface GateSettings {
  probe?: ProbeSettings;
  queue?: QueueGateSettings;
  soakMs?: number;
  intervalMs?: number;
  healthyDeadlineMs?: number;
}

/** on_gate_failure of an instances/postconf step: revert puts the changed files back when a later gate of the host fails. */
export type OnGateFailure = "revert";

export type InstancesStep = StepBase & { type: "instances"; instances: DesiredInstance[]; then?: ThenAction; onGateFailure?: OnGateFailure };
export type PostconfStep = StepBase & { type: "postconf"; select: InstanceSelector; config: ConfigSettings; then?: ThenAction; onGateFailure?: OnGateFailure };
export type ServiceStep = StepBase & { type: "start" | "stop" | "restart" | "reload"; select: InstanceSelector; healthyTimeoutMs: number; gate?: GateSettings };
export type WaitStep = StepBase & { type: "wait"; select: InstanceSelector; checks: HealthCheck[]; timeoutMs: number; intervalMs: number; probe?: ProbeSettings; gate?: GateSettings };
export type DrainStep = StepBase & { type: "drain"; select: InstanceSelector; timeoutMs: number };
export type UndrainStep = StepBase & { type: "undrain"; select: InstanceSelector };
export type PostmultiStep = StepBase & { type: "postmulti"; args: string[] };
/** With `shell`, argv is one command line for /bin/sh -c. */
export type RunStep = StepBase & { type: "run"; select: InstanceSelector; argv: string[]; shell: boolean };
export type PauseStep = StepBase & ({ type: "pause"; durationMs: number; prompt?: undefined } | { type: "pause"; prompt: string; durationMs?: undefined });

export type Step = InstancesStep | PostconfStep | ServiceStep | WaitStep | DrainStep | UndrainStep | PostmultiStep | RunStep | PauseStep;

/** How a canary stage is promoted to the rest of the play's hosts. */
export type Promote = "auto" | "pause";

/**
 * The play's first stage: these hosts run every step (gates included) as
 * batch 1; the rest of the hosts follow in batches by `serial` only once the
 * stage is promoted. A failure in the stage stops the play, whatever its budget.
 */
export interface CanaryStage {
  /** The canary hosts, in the order they run (also `batches[0]`). */
  hosts: string[];
  /** auto: once every canary host ended well (its gates held, for `soakMs` at least); pause: the operator is asked. */
  promote: Promote;
  /** Every gate on a canary host holds for at least this long (its soak raised to it). */
  soakMs?: number;
}

export interface Play {
  /** Position in the playbook (0-based). */
  index: number;
  name: string;
  location: SourceLocation;
  /** The hosts pattern, rendered. */
  pattern: string;
  /** Selected hosts (pattern ∩ --limit), inventory order. */
  hosts: string[];
  order: HostOrder;
  /** The seed of a shuffle (chosen at random when the playbook gives none), so a run can be repeated. */
  orderSeed?: number;
  /** Hosts in run order, cut into batches (with a canary stage, batches[0] is the canary). */
  batches: string[][];
  canary?: CanaryStage;
  /**
   * Failure budget of the play: no new batch starts once this many hosts
   * (failed or unreachable, across all batches) have failed. null: no budget.
   */
  maxFail: number | null;
  /**
   * Ansible's max_fail_percentage, per batch (aligned with `batches`): the
   * play stops after batch i when its failed hosts EXCEED maxFailPerBatch[i].
   */
  maxFailPerBatch?: number[];
  pauseBetweenBatchesMs: number;
  /** A batch not finished (healthy) within this stops the play. */
  progressDeadlineMs?: number;
  /** The play's vars, as written (templates unrendered). */
  vars: Record<string, unknown>;
  /** Each host's steps, in order, rendered for that host. */
  steps: Record<string, Step[]>;
}

export interface Playbook {
  /** The playbook file, as given. */
  file: string;
  plays: Play[];
  /** Things worth saying that do not stop the run (a play matching no host...). */
  warnings: string[];
}
