// Human output of a playbook run, as it happens: each play, each batch, each
// host's steps and instances when the host finishes (with --diff, every
// main.cf/master.cf change), then a recap per host and per play.
import type { ParamChange } from "../protocol/index.js";
import type { RunEvents } from "../orchestrator/events.js";
import type { InstanceStepResult, PlayHostOutcome, PlaybookDocument, StepResult, StepStatus } from "../orchestrator/steps/step-results.js";
import type { HostStatus } from "../orchestrator/run-document.js";
import { indent, painter } from "./human.js";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : word.endsWith("ch") ? "es" : "s"}`;

export interface PlaybookHumanOptions {
  color: boolean;
  diff: boolean;
  check: boolean;
  verbose: boolean;
}

/** One change as operators read it: `~ relayhost: [a] → [b]`, `+ p = v`, `- p (back to default v)`. */
export function renderChange(c: ParamChange): string {
  // An empty value is a value ("mydestination ="): show it as "".
  const v = (s: string) => (s === "" ? '""' : s);
  if (c.before === null && c.after !== null) return `+ ${c.name} = ${v(c.after)}`;
  if (c.after === null) return `- ${c.name}${c.defaultValue !== undefined ? ` (back to default ${v(c.defaultValue)})` : ""}`;
  return `~ ${c.name}: ${v(c.before ?? "")} → ${v(c.after)}`;
}

/** A probe's hops, one line each: instance, queue ID, where it went, status, Postfix's delay; then what was removed. */
export function renderProbeHops(p: NonNullable<InstanceStepResult["probe"]>): string[] {
  const lines = [`      probe ${p.messageId} via ${p.injectedVia} (${p.outcome}, ${p.durationMs} ms):`];
  for (const h of p.hops)
    lines.push(
      `        ${h.instance ?? h.syslogName} ${h.queueId}${h.relay ? ` → ${h.relay}` : ""} ${h.status ?? "queued"}${h.latencyMs !== null ? `, ${h.latencyMs} ms` : ""}`,
    );
  for (const r of p.removed) lines.push(`        removed from ${r.instance}: ${r.result}`);
  return lines;
}

function renderStep(s: StepResult, o: PlaybookHumanOptions): string[] {
  const { c, byStatus } = painter(o.color);
  const out: string[] = [];
  const why = s.skipped ? ` (${s.skipped})` : s.error && s.instances.length === 0 ? `: ${s.error}` : "";
  out.push(`  ${byStatus[s.status](`[${s.status}]`)} ${c.bold(s.name)}${why}`);
  for (const i of s.instances) {
    const via = i.via ? c.dim(` via ${i.via}`) : "";
    out.push(`    ${byStatus[i.status](i.instance)} ${i.action}${via}${i.error ? c.red(`: ${i.error}`) : ""}`);
    if (o.verbose) for (const cmd of i.commands ?? []) out.push(c.dim(`      $ ${cmd}`));
    if (i.health?.length && (o.verbose || i.status === "failed"))
      out.push(`      gate: ${i.health.map((h) => (h.ok ? c.green(`✓ ${h.kind}: ${h.detail}`) : c.red(`✗ ${h.kind}: ${h.detail}`))).join("  ")}`);
    if (i.probe && (o.verbose || i.status === "failed")) out.push(...renderProbeHops(i.probe).map((l) => c.dim(l)));
    if (o.diff) for (const ch of i.changes ?? []) out.push(`      ${ch.after === null ? c.red(renderChange(ch)) : ch.before === null ? c.green(renderChange(ch)) : c.yellow(renderChange(ch))}`);
    if (i.stdout && (o.verbose || i.status === "failed")) out.push(indent(i.stdout, "      "));
    if (i.stderr && (o.verbose || i.status === "failed")) out.push(c.red(indent(i.stderr, "      ")));
  }
  return out;
}

export function renderPlayHost(h: PlayHostOutcome, o: PlaybookHumanOptions): string {
  const { byStatus } = painter(o.color);
  const head = `${h.host} | ${h.status.toUpperCase()}${h.error ? `: ${h.error}` : ""}${h.message ? ` | ${h.message}` : ""}`;
  const lines = [byStatus[h.status](head)];
  for (const s of h.steps ?? []) lines.push(...renderStep(s, o));
  return lines.join("\n") + "\n";
}

/** Print the run as it happens; returns the function that stops listening. */
export function attachPlaybookOutput(events: RunEvents, o: PlaybookHumanOptions, write: (s: string) => void): () => void {
  const { c } = painter(o.color);
  let batches = 0;
  return events.on((e) => {
    if (e.type === "play-started") {
      batches = e.batches;
      write(`\n${c.bold(`PLAY [${e.name}]`)} ${e.hosts.length} host${e.hosts.length === 1 ? "" : "s"} in ${e.batches} batch${e.batches === 1 ? "" : "es"}${o.check ? c.cyan(" (check: nothing changes)") : ""}\n`);
    } else if (e.type === "batch-started") {
      write(`\n${c.bold(`BATCH ${e.batch + 1}/${batches}`)} (${e.hosts.length} host${e.hosts.length === 1 ? "" : "s"}): ${e.hosts.join(", ")}\n`);
    } else if (e.type === "host-finished") {
      write(renderPlayHost(e.outcome as PlayHostOutcome, o));
    } else if (e.type === "play-finished" && e.stopped) {
      write(c.red(`\nPLAY [${e.name}] stopped: ${e.stopped}\n`));
    }
  });
}

/** Ansible-style recap: one line per host (steps ok/changed/failed/skipped), one per play. */
export function renderPlaybookRecap(doc: PlaybookDocument, o: PlaybookHumanOptions): string {
  const { c, byStatus } = painter(o.color);
  const width = Math.max(4, ...doc.hosts.map((h) => h.host.length));
  const lines: string[] = [`\n${c.bold("RECAP")} ${doc.command}`];
  for (const h of doc.hosts) {
    const steps = doc.plays.flatMap((p) => p.batches.flatMap((b) => b.hosts.filter((x) => x.host === h.host).flatMap((x) => x.steps ?? [])));
    const n = (s: StepStatus) => steps.filter((x) => x.status === s).length;
    const unreachable = h.status === "unreachable" ? 1 : 0;
    lines.push(
      `${byStatus[h.status](h.host.padEnd(width))} : ok=${n("ok")}  changed=${n("changed")}  failed=${n("failed")}  unreachable=${unreachable}  skipped=${n("skipped")}` +
        (h.status === "skipped" ? c.cyan(`  (not attempted: ${h.error ?? ""})`) : h.message ? c.cyan(`  (${h.message})`) : ""),
    );
  }
  for (const p of doc.plays) {
    const hosts = p.batches.flatMap((b) => b.hosts);
    const count = (s: HostStatus) => hosts.filter((h) => h.status === s).length;
    lines.push(
      `play ${c.bold(p.name)}: ${plural(hosts.length, "host")} in ${plural(p.batches.length, "batch")}: ${c.green(`${count("ok")} ok`)}, ${c.yellow(`${count("changed")} changed`)}, ` +
        `${c.red(`${count("failed")} failed`)}, ${c.red(`${count("unreachable")} unreachable`)}, ${c.cyan(`${count("skipped")} skipped`)}` +
        (p.maxFail !== undefined ? `; failures ${p.failures}/${p.maxFail}` : "") +
        (p.stopped ? c.red(`; stopped: ${p.stopped}`) : ""),
    );
  }
  if (doc.aborted) lines.push(c.red("run interrupted"));
  return lines.join("\n") + "\n";
}
