// Loading a playbook: parse (keeping positions), check the structure, select
// each play's hosts, cut batches, then render and type every step for every
// host. Nothing connects. All problems of the file are collected and thrown
// together as one PlaybookError ("FILE:LINE:COLUMN: message" per line).

import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Inventory } from "../inventory/index.js";
import { canaryBatches, chooseCanary, failureBudget, makeBatches, orderHosts, perBatchTolerance, randomSeed, type CanarySpec } from "./batches.js";
import { parseDuration } from "./duration.js";
import { evaluateWhen, explainTemplateError, hostScope, renderValue, TemplateError, type RenderProblem } from "./host-templates.js";
import { kindOf, reportZodIssues } from "./issues.js";
import { resolveStep, StepValueError } from "./resolve-step.js";
import { STEP_SCHEMAS } from "./schema.js";
import type { CanaryStage, HostOrder, Play, Playbook, Step } from "./types.js";
import { checkDeclaredInstances, checkPlaybook, type CheckedPlay, type CheckedStep } from "./validate.js";
import { Diagnostics, formatIssue, PlaybookError, YamlSource, type Path, type SourceLocation } from "./yaml-source.js";

/** What the loader needs of an inventory (src/inventory's AnsibleInventory has it). */
export type PlaybookInventory = Pick<Inventory, "selectHosts" | "hostVars" | "groupNames">;

export interface LoadPlaybookOptions {
  inventory: PlaybookInventory;
  /** -l/--limit: intersected with each play's hosts. */
  limit?: string;
  /** -e/--extra-vars, already parsed (parseExtraVars): the highest precedence. */
  extraVars?: Record<string, unknown>;
  /** A terminal is there to answer `pause: {prompt}`; without one such a playbook is rejected. */
  interactive: boolean;
  /** The playbook's text, instead of reading `file` (tests, stdin). */
  text?: string;
}

/** Problems that happen on several hosts at one place are reported once, naming the hosts. */
class HostProblems {
  private readonly byPlace = new Map<string, { at: SourceLocation; message: string; hosts: string[] }>();

  add(at: SourceLocation, message: string, host: string): void {
    const key = `${at.line}:${at.column}:${message}`;
    const p = this.byPlace.get(key);
    if (p) p.hosts.push(host);
    else this.byPlace.set(key, { at, message, hosts: [host] });
  }

  flush(diag: Diagnostics): void {
    for (const p of this.byPlace.values()) {
      const n = p.hosts.length;
      const who = n === 1 ? `host ${p.hosts[0]}` : n <= 3 ? `hosts ${p.hosts.join(", ")}` : `hosts ${p.hosts.slice(0, 2).join(", ")} and ${n - 2} more`;
      diag.add(p.at, `${who}: ${p.message}`);
    }
    this.byPlace.clear();
  }
}

function playOrder(order: CheckedPlay["play"]["order"]): { order: HostOrder; seed?: number } {
  if (order === undefined) return { order: "inventory" };
  if (typeof order === "string") return order === "shuffle" ? { order, seed: randomSeed() } : { order };
  return { order: "shuffle", seed: order.shuffle.seed };
}

function magicVars(host: string, inventory: PlaybookInventory, playbookDir: string): Record<string, unknown> {
  return {
    inventory_hostname: host,
    inventory_hostname_short: /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.includes(":") ? host : host.split(".")[0],
    group_names: inventory.groupNames(host),
    playbook_dir: playbookDir,
  };
}

interface PlayContext {
  file: string;
  source: YamlSource;
  diag: Diagnostics;
  problems: HostProblems;
  opts: LoadPlaybookOptions;
  playbookDir: string;
  warnings: string[];
}

function stepsForHost(host: string, play: CheckedPlay, ctx: PlayContext): Step[] {
  const { source, problems, opts } = ctx;
  const vars = { ...opts.inventory.hostVars(host), ...(play.play.vars ?? {}), ...(opts.extraVars ?? {}), ...magicVars(host, opts.inventory, ctx.playbookDir) };
  const scope = hostScope(vars);
  const steps: Step[] = [];
  play.steps.forEach((checked: CheckedStep) => {
    const index = Number(checked.path[checked.path.length - 1]);
    const at = (rel: Path) => source.at([...checked.path, ...rel]);
    const { when: whenRaw, ...rest } = checked.raw;
    let when: Step["when"];
    let bad = false;
    if (whenRaw !== undefined) {
      try {
        when = evaluateWhen(whenRaw as string | boolean, scope);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        problems.add(at(["when"]), `when: ${explainTemplateError(e)}`, host);
        bad = true;
      }
    }
    const rendered: RenderProblem[] = [];
    const value = renderValue(rest, scope, rendered) as Record<string, unknown>;
    for (const p of rendered) problems.add(at(p.path), p.message, host);
    if (bad || rendered.length) return;
    const schema = STEP_SCHEMAS[checked.type];
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const local = new Diagnostics();
      const prefix = (_rel: Path, actual: unknown) => `rendered as ${kindOf(actual)}: `;
      reportZodIssues(parsed.error, { schema, value, base: checked.path, source, diag: local, where: () => `a '${checked.type}' step`, prefix });
      for (const i of local.issues) problems.add(i, i.message, host);
      return;
    }
    if (checked.type === "instances") {
      // Only what templates changed: the values as written were checked once already.
      const asWritten = new Diagnostics();
      checkDeclaredInstances(checked.raw["instances"], [...checked.path, "instances"], source, asWritten);
      const known = new Set(asWritten.issues.map(formatIssue));
      const local = new Diagnostics();
      checkDeclaredInstances(value["instances"], [...checked.path, "instances"], source, local);
      const fresh = local.issues.filter((i) => !known.has(formatIssue(i)));
      for (const i of fresh) problems.add(i, i.message, host);
      if (!local.empty) return;
    }
    const name = typeof value["name"] === "string" ? value["name"] : checked.type;
    const head = { index, name, location: at([]), ...(when ? { when } : {}) };
    try {
      steps.push(resolveStep(checked.type, parsed.data, head));
    } catch (e) {
      if (!(e instanceof StepValueError)) throw e;
      problems.add(at(e.path), e.message, host);
    }
  });
  return steps;
}

function loadPlay(play: CheckedPlay, index: number, ctx: PlayContext): Play | undefined {
  const { source, diag, opts } = ctx;
  const p = play.play;
  const at = (rel: Path, key = false) => source.at([...play.path, ...rel], { key });
  const playVars = p.vars ?? {};

  // hosts may use the play's vars and extra vars (no host is known yet).
  const patternRaw = Array.isArray(p.hosts) ? p.hosts.join(",") : p.hosts;
  const problems: RenderProblem[] = [];
  const pattern = renderValue(patternRaw, hostScope({ ...playVars, ...(opts.extraVars ?? {}) }), problems);
  for (const pr of problems) diag.add(at(["hosts"]), `hosts: ${pr.message} (only the play's vars and -e variables are known here)`);
  if (problems.length || typeof pattern !== "string") {
    if (!problems.length) diag.add(at(["hosts"]), `hosts must render to a host pattern (a string), not ${JSON.stringify(pattern)}`);
    return undefined;
  }
  let hosts: string[];
  try {
    hosts = opts.inventory.selectHosts(pattern);
  } catch (e) {
    diag.add(at(["hosts"]), `bad host pattern '${pattern}': ${(e as Error).message}`);
    return undefined;
  }
  if (opts.limit !== undefined) {
    try {
      hosts = opts.inventory.selectHosts(pattern, opts.limit);
    } catch (e) {
      diag.add(at(["hosts"]), `--limit '${opts.limit}': ${(e as Error).message}`);
      return undefined;
    }
  }
  const name = p.name ?? pattern;
  const location = at([]);
  if (!hosts.length) ctx.warnings.push(`${ctx.file}:${location.line}:${location.column}: play '${name}': no hosts matched '${pattern}'${opts.limit ? ` with --limit '${opts.limit}'` : ""}, skipping it`);

  const { order, seed } = playOrder(p.order);
  const ordered = orderHosts(hosts, order, seed);
  const serial = p.serial as number | string | (number | string)[] | undefined;
  const canary = p.canary && ordered.length ? canaryStage(p.canary, ordered, play, ctx) : undefined;
  if (canary === null) return undefined;
  const batches = canary ? canaryBatches(ordered, canary.hosts, serial) : makeBatches(ordered, serial);
  const out: Play = {
    index,
    name,
    location,
    pattern,
    hosts,
    order,
    batches,
    maxFail: failureBudget(p.max_fail as number | string | undefined, hosts.length),
    pauseBetweenBatchesMs: p.pause_between_batches === undefined ? 0 : (parseDuration(p.pause_between_batches) ?? 0),
    vars: playVars,
    steps: {},
  };
  if (seed !== undefined) out.orderSeed = seed;
  if (canary) out.canary = canary;
  if (p.progress_deadline !== undefined) out.progressDeadlineMs = parseDuration(p.progress_deadline) ?? 0;
  if (p.max_fail_per_batch !== undefined) out.maxFailPerBatch = perBatchTolerance(p.max_fail_per_batch as number | string, batches);

  // A prompt needs someone to answer it: reject before anything runs.
  if (!opts.interactive) {
    for (const s of play.steps) {
      const pause = s.raw["pause"];
      if (pause && typeof pause === "object" && "prompt" in pause) diag.add(source.at([...s.path, "pause"]), "pause with a prompt needs a terminal, and this run has none: use a duration (pause: 30s), or run from a terminal");
    }
  }
  for (const h of hosts) out.steps[h] = stepsForHost(h, play, ctx);
  ctx.problems.flush(diag);
  const resolved = hosts.every((h) => out.steps[h]!.length === play.steps.length);
  if (canary?.soakMs !== undefined && resolved && hosts.length && !hosts.some((h) => out.steps[h]!.some((s) => (s.type === "wait" || "healthyTimeoutMs" in s) && "gate" in s && s.gate)))
    diag.add(at(["canary", "soak"]), "canary soak: no step of this play has a gate to hold (gate: on a start, restart, reload or wait step)");
  return out;
}

/** The play's canary stage (its hosts among `ordered`), or null when it cannot be (said at its place in the file). */
function canaryStage(c: NonNullable<CheckedPlay["play"]["canary"]>, ordered: string[], play: CheckedPlay, ctx: PlayContext): CanaryStage | null {
  const at = (rel: Path) => ctx.source.at([...play.path, "canary", ...rel]);
  const choice = chooseCanary(ordered, c.hosts as CanarySpec, (pattern) => ctx.opts.inventory.selectHosts(pattern));
  if ("error" in choice) {
    ctx.diag.add(at(["hosts", ...(choice.item !== undefined ? [choice.item] : [])]), choice.error);
    return null;
  }
  const promote = c.promote ?? "auto";
  // Someone must answer: rejected before anything runs, as a pause prompt is.
  if (promote === "pause" && !ctx.opts.interactive) ctx.diag.add(at(["promote"]), "canary promote: pause asks the operator at a terminal, and this run has none: use promote: auto (with a soak), or run from a terminal");
  if (choice.hosts.length === ordered.length) {
    const l = at([]);
    ctx.warnings.push(`${ctx.file}:${l.line}:${l.column}: the canary stage takes all ${ordered.length} host${ordered.length === 1 ? "" : "s"} of the play: there is nothing to promote to`);
  }
  let soakMs: number | undefined;
  if (c.soak !== undefined) {
    // May use the play's vars and -e variables (no host is known yet), as hosts does.
    const problems: RenderProblem[] = [];
    const soak = renderValue(c.soak, hostScope({ ...(play.play.vars ?? {}), ...(ctx.opts.extraVars ?? {}) }), problems);
    for (const pr of problems) ctx.diag.add(at(["soak"]), `canary soak: ${pr.message} (only the play's vars and -e variables are known here)`);
    soakMs = typeof soak === "number" || typeof soak === "string" ? parseDuration(soak) : undefined;
    if (!problems.length && soakMs === undefined) ctx.diag.add(at(["soak"]), `canary soak: ${JSON.stringify(soak)} is not a duration (e.g. 60s, 2m, or a number of seconds)`);
  }
  return { hosts: choice.hosts, promote, ...(soakMs !== undefined ? { soakMs } : {}) };
}

/** Read, validate and resolve a playbook for the given inventory; throws PlaybookError listing every problem. */
export async function loadPlaybookFile(file: string, opts: LoadPlaybookOptions): Promise<Playbook> {
  const diag = new Diagnostics();
  let text = opts.text;
  if (text === undefined) {
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      throw new PlaybookError([{ file, line: 1, column: 1, message: `cannot read the playbook: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
    }
  }
  const { source, value } = YamlSource.parse(file, text, diag);
  diag.throwIfAny();
  const checked = checkPlaybook(value, source, diag);
  const ctx: PlayContext = { file, source, diag, problems: new HostProblems(), opts, playbookDir: dirname(resolve(file)), warnings: [] };
  const plays: Play[] = [];
  checked.forEach((c) => {
    const play = loadPlay(c, Number(c.path[0]), ctx);
    if (play) plays.push(play);
  });
  diag.throwIfAny();
  return { file, plays, warnings: ctx.warnings };
}
