// What a step gets to work on one host: the host's session (agent), its
// instance facts (read once, re-read after steps that add or remove
// instances), the run's mode, and the stop signals.
import type { FactsResponse, InstanceFacts, RevertFile } from "../../protocol/index.js";
import { AgentRequestError } from "../../transport/index.js";
import type { RunHostSession } from "../host-session.js";
import type { InstanceSelector } from "./step-model.js";
import type { InstanceStepResult } from "./step-results.js";

export interface StepContext {
  host: string;
  session: RunHostSession;
  /** --check: change nothing, say what would change. */
  check: boolean;
  opTimeoutMs: number;
  /** Aborted by a second Ctrl-C: cancel what runs. */
  hardStop: AbortSignal;
  /** A reason to start no further instance operation (first Ctrl-C), or undefined. */
  interrupted(): string | undefined;
  /** The host's facts, cached until invalidateFacts() (with --check: as predicted after an `instances` step). */
  facts(): Promise<FactsResponse>;
  invalidateFacts(): void;
  /** --check: from now on, facts() answers these predicted facts; `created` names instances that do not exist yet. */
  predict(facts: FactsResponse, created: ReadonlySet<string>): void;
  /** --check: the instance exists only in the prediction (the agent cannot be asked about it). */
  predicted(name: string): boolean;
  /** Say what the host is doing now (named if the run is stopped hard). */
  doing(what: string): void;
  /** Show a prompt on the terminal and wait for Enter (pause steps). */
  prompt(text: string): Promise<void>;
  /** An instance's transition (stopping, stopped, starting, health_gate, healthy, failed...), for the run's journal and event streams. */
  transition?(instance: string, state: string, detail?: string): void;
  /** on_gate_failure: revert: the controller's copy of an instance's files (base64) before step `step`, for the run's journal directory. */
  keepSnapshot?(instance: string, step: number, files: Partial<Record<RevertFile, string>>, sha256: Partial<Record<RevertFile, string>>): void;
}

export class StepError extends Error {}

/**
 * A step that stopped in the middle of its instances because a request
 * failed as a whole: the host was lost (connection, agent killed) or the
 * agent refused the request. It carries what the step had done, and the
 * instance in flight marked as of unknown state, so that the report says
 * exactly how far the host got.
 */
export class PartialStepError extends Error {
  constructor(
    readonly reason: unknown,
    readonly done: InstanceStepResult[],
    /** False when the agent refused one request but the host is still there. */
    readonly hostLost: boolean,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

/** The agent answered a request with an error: the host is still there. */
export function isAgentRefusal(err: unknown): boolean {
  return err instanceof AgentRequestError;
}

/**
 * One instance's operation within a step's loop. If it throws, rethrow as a
 * PartialStepError with the results so far (`done`) and this instance in
 * flight, its state unknown.
 */
export async function perInstance<T>(done: readonly InstanceStepResult[], inst: InstanceFacts, what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StepError) throw err;
    if (err instanceof PartialStepError) throw new PartialStepError(err.reason, [...done, ...err.done], err.hostLost);
    const refused = isAgentRefusal(err);
    const inFlight: InstanceStepResult = {
      instance: inst.name,
      status: "failed",
      action: refused ? `${what}: refused by the agent` : `state unknown: the host was lost during ${what}`,
      error: err instanceof Error ? err.message : String(err),
      durationMs: 0,
    };
    throw new PartialStepError(err, [...done, inFlight], !refused);
  }
}

export async function loadFacts(session: RunHostSession): Promise<FactsResponse> {
  const f = await session.request({ op: "facts", queues: false });
  if (f.error) throw new StepError(`cannot read the instances: ${f.error.message}`);
  return f;
}

/** The selected instances, in multi_instance_directories order (primary first). */
export function selectInstances(all: readonly InstanceFacts[], s: InstanceSelector, host: string): InstanceFacts[] {
  switch (s.kind) {
    case "all":
      return [...all];
    case "enabled":
      return all.filter((i) => i.enabled);
    case "group":
      return all.filter((i) => i.group === s.group);
    case "names": {
      const missing = s.names.filter((n) => !all.some((i) => matchesName(i, n)));
      if (missing.length) throw new StepError(`${host} has no instance named ${missing.join(", ")} (it has: ${all.map((i) => i.name).join(", ")})`);
      return all.filter((i) => s.names.some((n) => matchesName(i, n)));
    }
  }
}

/** "-" is the primary; "postfix-out" and "out" both name postfix-out, as postmulti -i takes them. */
export function matchesName(i: InstanceFacts, name: string): boolean {
  if (name === "-") return i.primary;
  return i.name === name || i.name === `postfix-${name}`;
}

/** The agent's instance argument: the name, or "-" for the primary (also when it has a name). */
export function instanceArg(i: InstanceFacts): string {
  return i.primary ? "-" : i.name;
}
