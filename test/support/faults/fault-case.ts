// One fault case: snapshot the hosts, start the controller, inject the
// fault(s) at their point, let the run end (or end it), repair the hosts,
// and check everything the suite promises; the figures go to the table.
import { expect } from "vitest";
import type { TestLabHost } from "../lab.js";
import { docOf, documentedExit, startController, type ControllerResult, type ControllerRun } from "./controller.js";
import { endInjections, resetInjections, waitOnHost } from "./faults.js";
import { recordCase, type CaseFigures } from "./figures.js";
import { controllerLeftovers, halfWritten, hostLeftovers, hostState, type HostState } from "./host-checks.js";

/** waitOnHost, but a point never reached fails the injection (and so the case), saying which. */
export async function reached(host: TestLabHost, condition: string, timeoutMs?: number): Promise<true> {
  if (await waitOnHost(host, condition, timeoutMs)) return true;
  throw new Error(`${host.name}: the point was never reached: ${condition}`);
}

export interface CaseContext {
  controller: ControllerRun;
  hosts: TestLabHost[];
}

export interface FaultCase {
  name: string;
  hosts: TestLabHost[];
  /** CLI arguments (with --json). */
  args: string[];
  env?: Record<string, string>;
  /** Inject the fault(s); runs while the controller runs. */
  inject(ctx: CaseContext): Promise<void>;
  /** Undo the fault on the hosts (unpause, reconnect, unmount) before they are checked. */
  repair?(): Promise<void>;
  /** Hosts gone for good (removed): not checked on the host side. */
  gone?: string[];
  /** The same operation without a fault, to learn the "after" state (and prove a rerun converges). */
  rerun?: string[];
  /** Exit codes this case may end with (besides the one the document implies). */
  exits: Array<number | NodeJS.Signals>;
  /** Check the host's reported state against what is on it: problems as lines. */
  stated(doc: any | null, host: TestLabHost, before: HostState, now: HostState): string[];
  /** The run's lab directory and ports (controller leftovers). */
  marker: string;
  ports: number[];
  limitMs?: number;
  /** The run keeps its agent on the hosts (--agent-persist): one idle resident agent per host is not a leftover. */
  residentAllowed?: boolean;
}

/** A host's report in one line (status, error, steps), for findings. */
function reportedSummary(doc: any | null, host: string): string {
  const hs = [...(doc?.hosts ?? []), ...(doc?.plays ?? []).flatMap((p: any) => p.batches.flatMap((b: any) => b.hosts))].filter((h: any) => h.host === host);
  const h = hs.at(-1);
  if (!h) return "nothing";
  const steps = (h.steps ?? []).map((s: any) => `${s.name}=${s.status}${s.error ? `(${s.error})` : ""}`).join(", ");
  return `${h.status}${h.error ? ` "${h.error}"` : ""}${h.incomplete ? ` incomplete "${h.incomplete}"` : ""}${steps ? ` steps: ${steps}` : ""}`.slice(0, 600);
}

export interface CaseOutcome {
  result: ControllerResult;
  doc: any | null;
  figures: CaseFigures;
}

export async function runFaultCase(c: FaultCase): Promise<CaseOutcome> {
  const live = c.hosts.filter((h) => !c.gone?.includes(h.name));
  const before = new Map(await Promise.all(c.hosts.map(async (h) => [h.name, await hostState(h)] as const)));
  await resetInjections(c.hosts);
  const controller = startController(c.args, { env: c.env, limitMs: c.limitMs ?? 90_000 });
  const injected = c.inject({ controller, hosts: c.hosts }).catch((e: unknown) => e);
  const result = await controller.done;
  await endInjections(c.hosts);
  const injectError = await injected;
  await c.repair?.();
  const doc = docOf(result);
  const details: string[] = [];
  if (injectError) details.push(`injection failed: ${String(injectError)}`);

  // What is left behind, on the controller and on each remaining host.
  const leaked = [...(await controllerLeftovers(c.marker, c.ports)), ...(await Promise.all(live.map((h) => hostLeftovers(h, { residentAllowed: c.residentAllowed ?? false })))).flat()];
  const now = new Map(await Promise.all(live.map(async (h) => [h.name, await hostState(h)] as const)));

  // The "after" state: the same operation again, without a fault.
  let after = new Map<string, HostState>();
  if (c.rerun) {
    const again = await startController(c.rerun, { env: c.env }).done;
    if (again.exitCode !== 0) details.push(`rerun without fault: exit ${again.exitCode}: ${again.stderr.slice(0, 500)} ${JSON.stringify(docOf(again)?.hosts?.filter((x: any) => x.status !== "ok" && x.status !== "changed").map((x: any) => [x.host, x.status, x.error]))}`);
    after = new Map(await Promise.all(live.map(async (h) => [h.name, await hostState(h)] as const)));
  }
  const half = live.flatMap((h) =>
    halfWritten(now.get(h.name)!.config, [before.get(h.name)!.config, ...(after.has(h.name) ? [after.get(h.name)!.config] : [])], `${h.name}:`),
  );
  const unstated = live.flatMap((h) => c.stated(doc, h, before.get(h.name)!, now.get(h.name)!).map((p) => `${h.name}: ${p} [reported: ${reportedSummary(doc, h.name)}]`));
  const unstatedHosts = new Set(unstated.map((u) => u.split(":")[0])).size;

  // The exit code: the one the document implies, and one this fault allows.
  const exit = result.signal ?? result.exitCode;
  if (result.hung) details.push(`controller hung: killed after ${result.ms} ms`);
  if (doc && exit !== documentedExit(doc)) details.push(`exit ${exit} but the document implies ${documentedExit(doc)}`);
  if (!c.exits.includes(exit as number | NodeJS.Signals))
    details.push(
      `exit ${exit} (signal ${result.signal}), expected one of ${c.exits.join(", ")}; reported: ${c.hosts.map((h) => `${h.name} ${reportedSummary(doc, h.name)}`).join("; ")}`,
    );
  if (result.signal === null && !doc) details.push(`no JSON document on stdout (exit ${exit}): ${result.stdout.slice(0, 300)} stderr: ${result.stderr.slice(0, 500)}`);
  // The rest of the fleet finishes: every host not faulted is ok/changed (or skipped after an interrupt).
  const figures: CaseFigures = {
    case: c.name,
    unstated: unstatedHosts,
    halfWritten: half.length,
    leaked: leaked.length,
    details: [...details, ...unstated, ...half, ...leaked],
  };
  recordCase(figures);
  expect({ exit, hung: result.hung, details: figures.details }, `${c.name}\nstderr: ${result.stderr.slice(-3000)}`).toEqual({
    exit: expect.anything(),
    hung: false,
    details: [],
  });
  return { result, doc, figures };
}
