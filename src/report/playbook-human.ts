// Human output of a playbook run, as it happens: each play, each batch, each
// failed or unreachable host's steps and instances when the host finishes,
// the other hosts of the batch folded by outcome when the batch ends (with
// --diff, every main.cf/master.cf change), then a recap and one line per play.
// With -v every host is shown as it finishes, with steps skipped by `when`.
import type { ParamChange } from "../protocol/index.js";
import type { RunEvents } from "../orchestrator/events.js";
import type { InstanceStepResult, PlayHostOutcome, PlaybookDocument, StageResult, StepResult, StepStatus } from "../orchestrator/steps/step-results.js";
import type { HostStatus } from "../orchestrator/run-document.js";
import { indent, painter } from "./human.js";
import { compactHostList } from "./host-ranges.js";
import { groupLabel, playHostKey, renderFolded, shownInFull, withoutHostName } from "./fold-hosts.js";
import { groupBy } from "../shared/group-by.js";

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

/** A step `when` said no to on this host: shown with -v only. */
const skippedByWhen = (s: StepResult) => s.status === "skipped" && s.skipped?.startsWith("`when` is false") === true;

function renderStep(s: StepResult, o: PlaybookHumanOptions): string[] {
  const { c, byStatus } = painter(o.color);
  const out: string[] = [];
  if (!o.verbose && skippedByWhen(s)) return out;
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

/** on_gate_failure: revert: " (REVERTED)" when the files are back and the gate held again, " (REVERT INCOMPLETE)" when not. */
export function revertLabel(h: Pick<PlayHostOutcome, "reverted">): string {
  return h.reverted === undefined ? "" : h.reverted ? " (REVERTED)" : " (REVERT INCOMPLETE)";
}

export function renderPlayHost(h: PlayHostOutcome, o: PlaybookHumanOptions): string {
  return renderBlock(h, h.host, (s) => s, o);
}

/** A host's block under a label (its name, or a folded group's host list), its texts passed through `text`. */
function renderBlock(h: PlayHostOutcome, label: string, text: (s: string) => string, o: PlaybookHumanOptions): string {
  const { byStatus } = painter(o.color);
  const head = `${label} | ${h.status.toUpperCase()}${revertLabel(h)}${h.error ? `: ${text(h.error)}` : ""}${h.message ? ` | ${text(h.message)}` : ""}`;
  const lines = [byStatus[h.status](head)];
  for (const s of h.steps ?? []) lines.push(...renderStep(s, o).map(text));
  return lines.join("\n") + "\n";
}

/** Hosts with the same outcome as one block: `mta[01:40] (40 hosts) | CHANGED`, then the steps they share (durations as ranges). */
export function renderPlayHostGroup(group: readonly PlayHostOutcome[], o: PlaybookHumanOptions): string {
  return renderFolded(group, (h, label, text) => renderBlock(h, label, text, o));
}

/** Hosts as the default output shows them: failed and unreachable ones each in full, the others folded by outcome; -v: each host. */
export function renderPlayHosts(hosts: readonly PlayHostOutcome[], o: PlaybookHumanOptions): string {
  if (o.verbose) return hosts.map((h) => renderPlayHost(h, o)).join("");
  return groupBy(hosts, (h) => (shownInFull(h) ? `\0${h.host}` : playHostKey(h)))
    .map((g) => renderPlayHostGroup(g, o))
    .join("");
}

/** Print the run as it happens; returns the function that stops listening. */
export function attachPlaybookOutput(events: RunEvents, o: PlaybookHumanOptions, write: (s: string) => void): () => void {
  const { c } = painter(o.color);
  let batches = 0;
  // Hosts of the running batch not printed yet (folded when the batch ends).
  let pending: PlayHostOutcome[] = [];
  const flush = () => {
    if (pending.length) write(renderPlayHosts(pending, o));
    pending = [];
  };
  const off = events.on((e) => {
    if (e.type === "play-started") {
      batches = e.batches;
      const canary = e.canary ? `, canary first: ${compactHostList(e.canary.hosts)} (promote: ${e.canary.promote}${e.canary.soakMs !== undefined ? `, gates held ${e.canary.soakMs / 1000} s` : ""})` : "";
      write(`\n${c.bold(`PLAY [${e.name}]`)} ${e.hosts.length} host${e.hosts.length === 1 ? "" : "s"} in ${e.batches} batch${e.batches === 1 ? "" : "es"}${canary}${o.check ? c.cyan(" (check: nothing changes)") : ""}\n`);
    } else if (e.type === "batch-started") {
      const stage = e.stage === "canary" ? `${c.bold("CANARY")} ` : "";
      write(`\n${stage}${c.bold(`BATCH ${e.batch + 1}/${batches}`)} (${e.hosts.length} host${e.hosts.length === 1 ? "" : "s"}): ${compactHostList(e.hosts)}\n`);
    } else if (e.type === "stage") {
      flush();
      const ok = e.outcome === "promoted" || e.outcome === "passed";
      write(`\n${(ok ? c.green : c.red)(`CANARY ${e.outcome.toUpperCase()}`)}: ${e.detail}\n`);
    } else if (e.type === "host-finished") {
      const h = e.outcome as PlayHostOutcome;
      if (o.verbose || shownInFull(h)) write(renderPlayHost(h, o));
      else pending.push(h);
    } else if (e.type === "batch-finished") {
      flush();
    } else if (e.type === "play-finished") {
      flush();
      if (e.stopped) write(c.red(`\nPLAY [${e.name}] stopped: ${e.stopped}\n`));
    }
  });
  return () => {
    off();
    flush();
  };
}

/** The recap's word on a play's canary stage: its hosts and how it ended. */
function canaryNote(c: StageResult | undefined): string {
  return c ? `; canary ${compactHostList(c.hosts)}: ${c.outcome ?? "not finished"}` : "";
}

/** Ansible-style recap: one line per failed or unreachable host (steps ok/changed/failed/skipped), the other hosts folded
 * into one line per identical line (-v: one line per host), then one line per play. */
export function renderPlaybookRecap(doc: PlaybookDocument, o: PlaybookHumanOptions): string {
  const { c, byStatus } = painter(o.color);
  const stepsOf = new Map<string, StepResult[]>();
  const revertOf = new Map<string, string>();
  for (const p of doc.plays)
    for (const b of p.batches)
      for (const x of b.hosts) {
        stepsOf.set(x.host, [...(stepsOf.get(x.host) ?? []), ...(x.steps ?? [])]);
        if (x.reverted !== undefined) revertOf.set(x.host, x.reverted ? "reverted" : "revert incomplete");
      }
  const rows = doc.hosts.map((h) => {
    const steps = stepsOf.get(h.host) ?? [];
    const n = (s: StepStatus) => steps.filter((x) => x.status === s).length;
    const unreachable = h.status === "unreachable" ? 1 : 0;
    const reverted = revertOf.get(h.host);
    const note = h.status === "skipped" ? `  (not attempted: ${h.error ?? ""})` : h.message ? `  (${h.message})` : reverted ? `  (${reverted})` : "";
    const fields = `ok=${n("ok")}  changed=${n("changed")}  failed=${n("failed")}  unreachable=${unreachable}  skipped=${n("skipped")}`;
    return { h, fields, note, shared: withoutHostName(note, h.host)! };
  });
  const groups = o.verbose ? rows.map((r) => [r]) : groupBy(rows, (r) => (shownInFull(r.h) ? `\0${r.h.host}` : JSON.stringify([r.h.status, r.fields, r.shared])));
  const labelled = groups.map((g) => {
    const first = g[0]!;
    return { ...first, label: groupLabel(g.map((r) => r.h.host)), note: g.length === 1 ? first.note : first.shared };
  });
  const width = Math.max(4, ...labelled.map((r) => r.label.length));
  const lines: string[] = [`\n${c.bold("RECAP")} ${doc.command}`];
  for (const r of labelled) lines.push(`${byStatus[r.h.status](r.label.padEnd(width))} : ${r.fields}${r.note ? c.cyan(r.note) : ""}`);
  for (const p of doc.plays) {
    const hosts = p.batches.flatMap((b) => b.hosts);
    const count = (s: HostStatus) => hosts.filter((h) => h.status === s).length;
    lines.push(
      `play ${c.bold(p.name)}: ${plural(hosts.length, "host")} in ${plural(p.batches.length, "batch")}: ${c.green(`${count("ok")} ok`)}, ${c.yellow(`${count("changed")} changed`)}, ` +
        `${c.red(`${count("failed")} failed`)}, ${c.red(`${count("unreachable")} unreachable`)}, ${c.cyan(`${count("skipped")} skipped`)}` +
        (p.maxFail !== undefined ? `; failures ${p.failures}/${p.maxFail}` : "") +
        canaryNote(p.stages?.[0]) +
        (p.stopped ? c.red(`; stopped: ${p.stopped}`) : ""),
    );
  }
  if (doc.aborted) lines.push(c.red("run interrupted"));
  return lines.join("\n") + "\n";
}
