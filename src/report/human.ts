// Human output of a run: results grouped per host, then a recap line per host
// (as operators know it from Ansible). By default hosts with the same outcome
// are folded into one block and one recap line (failed and unreachable hosts
// stay one by one); -v shows every host. Colour only on a terminal, never
// with NO_COLOR.
import pc from "picocolors";
import type { HostOutcome, HostStatus, RunDocument } from "../orchestrator/run-document.js";
import { groupLabel, hostKey, renderFolded, shownInFull } from "./fold-hosts.js";
import { groupBy } from "../shared/group-by.js";

export interface HumanOptions {
  color: boolean;
  /** Also print stdout/stderr of instances that succeeded without output worth showing. */
  verbose?: boolean;
}

type Paint = (s: string) => string;

/** Colours, and one color per status (also for a playbook step's status, a subset). */
export function painter(color: boolean) {
  const c = pc.createColors(color);
  const byStatus: Record<HostStatus, Paint> = {
    ok: c.green,
    changed: c.yellow,
    failed: c.red,
    unreachable: c.red,
    skipped: c.cyan,
  };
  return { c, byStatus };
}

export function indent(text: string, prefix: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

export function renderHost(h: HostOutcome, o: HumanOptions): string {
  return renderHostBlock(h, h.host, (s) => s, o);
}

/** Hosts as the default output shows them: failed and unreachable ones each in full, the others folded by outcome; -v: each host. */
export function renderHosts(hosts: readonly HostOutcome[], o: HumanOptions): string {
  if (o.verbose) return hosts.map((h) => renderHost(h, o)).join("");
  return groupBy(hosts, (h) => (shownInFull(h) ? `\0${h.host}` : hostKey(h)))
    .map((g) => renderFolded(g, (h, label, text) => renderHostBlock(h, label, text, o)))
    .join("");
}

function renderHostBlock(h: HostOutcome, label: string, text: (s: string) => string, o: HumanOptions): string {
  const { c, byStatus } = painter(o.color);
  const out: string[] = [];
  const head = `${label} | ${h.status.toUpperCase()}${h.error ? `: ${text(h.error)}` : ""}${h.message ? ` | ${text(h.message)}` : ""}`;
  out.push(byStatus[h.status](head));
  if (h.stdout) out.push(indent(text(h.stdout), "  "));
  for (const r of h.results) {
    // Instances the command did nothing on (e.g. `-l`) are in --json, not worth a line here.
    if (!r.command && !r.skipped && !r.stdout && !r.stderr && !r.changed && r.exitCode === 0) continue;
    const mark = r.exitCode === 0 ? (r.changed ? c.yellow("changed") : c.green("ok")) : c.red(`exit ${r.exitCode}`);
    const cmd = r.command ? ` ${c.dim(r.command)}` : r.skipped ? ` ${c.dim(`(${text(r.skipped)})`)}` : "";
    out.push(`  ${c.bold(r.instance)} ${mark}${cmd}`);
    if (r.stdout) out.push(indent(text(r.stdout), "    "));
    if (r.stderr) out.push(c.red(indent(text(r.stderr), "    ")));
  }
  return out.join("\n") + "\n";
}

/** One recap line per failed or unreachable host, the others folded into one line per identical line (-v: one per host); then the totals. */
export function renderRecap(doc: RunDocument, o: HumanOptions): string {
  const { c, byStatus } = painter(o.color);
  const rows = doc.hosts.map((h) => {
    const n = (s: HostStatus) => (h.status === s ? 1 : 0);
    const changed = h.results.filter((r) => r.changed).length;
    const failed = h.results.filter((r) => r.exitCode !== 0).length;
    const fields = [
      // Without per-instance results (ping, report) the host itself is the one item.
      `ok=${h.results.length ? h.results.length - failed : n("ok") + n("changed")}`,
      `changed=${h.results.length ? changed : n("changed")}`,
      `failed=${n("failed") ? Math.max(1, failed) : 0}`,
      `unreachable=${n("unreachable")}`,
      `skipped=${n("skipped")}`,
    ].join("  ");
    return { h, fields };
  });
  const groups = o.verbose ? rows.map((r) => [r]) : groupBy(rows, (r) => (shownInFull(r.h) ? `\0${r.h.host}` : `${r.h.status} ${r.fields}`));
  const labelled = groups.map((g) => ({ ...g[0]!, label: groupLabel(g.map((r) => r.h.host)) }));
  const width = Math.max(4, ...labelled.map((r) => r.label.length));
  const lines = labelled.map((r) => `${byStatus[r.h.status](r.label.padEnd(width))} : ${r.fields}`);
  const s = doc.summary;
  const total =
    `${doc.hosts.length} hosts: ${c.green(`${s.ok} ok`)}, ${c.yellow(`${s.changed} changed`)}, ` +
    `${c.red(`${s.failed} failed`)}, ${c.red(`${s.unreachable} unreachable`)}` +
    (s.skipped ? `, ${c.cyan(`${s.skipped} skipped`)}` : "") +
    (doc.aborted ? c.red(" (aborted)") : "");
  return `\n${c.bold("RECAP")} ${doc.command}\n${lines.join("\n")}\n${total}\n`;
}
