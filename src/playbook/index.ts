// Playbooks as documents: the format (schema.ts), loading with
// FILE:LINE:COLUMN errors (load.ts), -e/--extra-vars (extra-vars.ts), host
// order, batches and failure budgets (batches.ts), --list-hosts. Nothing here
// connects to a host: the run engine (src/orchestrator) takes a Playbook.

import { loadPlaybookFile, type LoadPlaybookOptions } from "./load.js";
import type { Playbook } from "./types.js";

export type * from "./types.js";
export type { LoadPlaybookOptions, PlaybookInventory } from "./load.js";
export { PlaybookError, formatIssue, type PlaybookIssue } from "./yaml-source.js";
export { parseExtraVars, parseExtraVarsArg, ExtraVarsError } from "./extra-vars.js";
export { budgetReached, batchBudgetExceeded, makeBatches, orderHosts, countOf, failureBudget, perBatchTolerance, chooseCanary, canaryBatches, type CanarySpec, type CanaryChoice } from "./batches.js";
export { renderListHosts } from "./list-hosts.js";
export { parseDuration, formatDuration } from "./duration.js";
export { playbookJsonSchema, STEP_TYPES, type StepType } from "./schema.js";
export { DEFAULTS as STEP_DEFAULTS } from "./resolve-step.js";

/**
 * Load PLAYBOOK.yml for a run: every play with its hosts (pattern ∩ limit,
 * inventory order), batches, budgets and each host's rendered steps.
 * Throws PlaybookError (every problem at FILE:LINE:COLUMN) when the file is
 * not valid for this inventory, limit and extra vars.
 */
export function loadPlaybook(file: string, opts: LoadPlaybookOptions): Promise<Playbook> {
  return loadPlaybookFile(file, opts);
}
