// What postmulti-script would refuse (and only log), checked beforehand in
// structured mode, and what destroy may leave behind.
import { existsSync } from "node:fs";
import type { Invocation } from "./invocation-context.js";
import type { Instance } from "./instances.js";
import { isRunning } from "../postfix/state.js";
import type { Plan } from "./lifecycle-plan.js";

/** What postmulti-script refuses with a fatal error, checked beforehand in structured mode. */
export function scriptPrecheck(s: Invocation, plan: Plan): string | null {
  const { primary } = s;
  if (plan.action === "init") return null;
  if (primary.wrapper === "") return "multi_instance_wrapper is empty, run 'postmulti -e init' first.";
  if (primary.enable !== true) return "multi_instance_enable!=yes, run 'postmulti -e init' first.";
  const dir = plan.target.configDir;
  const hasMain = existsSync(`${dir}/main.cf`);
  const hasMaster = existsSync(`${dir}/master.cf`);
  switch (plan.action) {
    case "import":
      if (!(hasMain && hasMaster)) {
        if (!hasMain) return `'${dir}' lacks a main.cf file`;
        return `'${dir}' lacks a master.cf file`;
      }
      return null;
    case "create":
      if (!(hasMain && hasMaster)) {
        if (!existsSync(`${primary.metaDir}/main.cf.proto`)) return `Missing main.cf prototype: ${primary.metaDir}/main.cf.proto`;
        if (!existsSync(`${primary.metaDir}/master.cf.proto`)) return `Missing master.cf prototype: ${primary.metaDir}/master.cf.proto`;
      }
      return null;
    case "destroy":
      if (!hasMain) return `${dir}/main.cf file not found`;
      if (isRunning(plan.target.queueDir)) return `Instance '${dir}' is not stopped`;
      return null;
    case "deport":
      if (hasMain && isRunning(plan.target.queueDir)) return `Instance '${dir}' is not stopped`;
      return null;
    default:
      return null;
  }
}

export const QUEUE_SUBDIRS = ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "maildrop", "pid", "private", "public", "saved", "trace"];

/** What destroy tries to remove, in its order. */
export function destroyCandidates(t: Instance): string[] {
  return [...QUEUE_SUBDIRS.map((q) => `${t.queueDir}/${q}`), t.dataDir, t.queueDir, t.configDir];
}
