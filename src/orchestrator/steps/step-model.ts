// What the engine executes for a playbook: each host's steps, resolved
// (templates rendered, durations in ms, `when` decided) and checked before the
// run starts. src/playbook turns a playbook file into these; nothing here
// knows YAML.
import type { ConfigSpec, HealthCheck } from "../../protocol/index.js";
import type { DesiredInstance, GateSettings, InstanceSelector, ProbeSettings } from "../../playbook/types.js";

export type { InstanceSelector };

/** A playbook's DesiredInstance with its settings in the agent's terms (ConfigSpec). */
export type DesiredInstanceSpec = Omit<DesiredInstance, "config"> & { settings: ConfigSpec };

export type ServiceAction = "start" | "stop" | "restart" | "reload";

export type StepAction =
  | { type: "instances"; desired: DesiredInstanceSpec[] }
  | { type: "postconf"; settings: ConfigSpec }
  | { type: ServiceAction; healthyTimeoutMs: number; gate?: GateSettings }
  | { type: "wait"; checks: HealthCheck[]; timeoutMs: number; intervalMs: number; probe?: ProbeSettings; gate?: GateSettings }
  | { type: "drain"; timeoutMs: number }
  | { type: "undrain" }
  | { type: "postmulti"; args: string[] }
  | { type: "run"; argv: string[]; shell: boolean }
  | { type: "pause"; ms: number; prompt?: string };

export type StepType = StepAction["type"];

export interface ExecStep {
  /** 0-based position in the play's steps. */
  index: number;
  /** The step's name, or one made from its type ("restart enabled"). */
  name: string;
  selector: InstanceSelector;
  /** false: `when` said no for this host; the step is reported skipped. */
  enabled: boolean;
  /** Reload or restart the instances this step changed, after the host's last step. */
  then?: "reload" | "restart";
  /** instances/postconf: keep the files before the change, put them back when a later gate of the host fails. */
  onGateFailure?: "revert";
  action: StepAction;
  /** "FILE:LINE:COLUMN" of the step, for messages. */
  location?: string;
}

/** Default health gate for start/restart/reload. */
export const DEFAULT_HEALTHY_TIMEOUT_MS = 30_000;
