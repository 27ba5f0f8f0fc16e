// Human output of a run: results grouped per host, then a recap line per host
// (as operators know it from Ansible). Colour only on a terminal, never with
// NO_COLOR.
import pc from "picocolors";
import type { HostOutcome, HostStatus, RunDocument } from "../orchestrator/run-document.js";

export interface HumanOptions {
  color: boolean;
  /** Also print stdout/stderr of instances that succeeded without output worth showing. */
  verbose?: boolean;
}

type Paint = (s: string) => string;

/** Colours, and one colour per status (also for a playbook step's status, a subset). */
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
  const { c, byStatus } = painter(o.color);
  const out: string[] = [];
  const head = `${h.host} | ${h.status.toUpperCase()}${h.error ? `: ${h.error}` : ""}${h.message ? ` | ${h.message}` : ""}`;
  out.push(byStatus[h.status](head));
  if (h.stdout) out.push(indent(h.stdout, "  "));
  for (const r of h.results) {
    // Instances the command did nothing on (e.g. `-l`) are in --json, not worth a line here.
    if (!r.command && !r.skipped && !r.stdout && !r.stderr && !r.changed && r.exitCode === 0) continue;
    const mark = r.exitCode === 0 ? (r.changed ? c.yellow("changed") : c.green("ok")) : c.red(`exit ${r.exitCode}`);
    const cmd = r.command ? ` ${c.dim(r.command)}` : r.skipped ? ` ${c.dim(`(${r.skipped})`)}` : "";
    out.push(`  ${c.bold(r.instance)} ${mark}${cmd}`);
    if (r.stdout) out.push(indent(r.stdout, "    "));
    if (r.stderr) out.push(c.red(indent(r.stderr, "    ")));
  }
  return out.join("\n") + "\n";
}

export function renderRecap(doc: RunDocument, o: HumanOptions): string {
  const { c, byStatus } = painter(o.color);
  const width = Math.max(4, ...doc.hosts.map((h) => h.host.length));
  const lines = doc.hosts.map((h) => {
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
    return `${byStatus[h.status](h.host.padEnd(width))} : ${fields}`;
  });
  const s = doc.summary;
  const total =
    `${doc.hosts.length} hosts: ${c.green(`${s.ok} ok`)}, ${c.yellow(`${s.changed} changed`)}, ` +
    `${c.red(`${s.failed} failed`)}, ${c.red(`${s.unreachable} unreachable`)}` +
    (s.skipped ? `, ${c.cyan(`${s.skipped} skipped`)}` : "") +
    (doc.aborted ? c.red(" (aborted)") : "");
  return `\n${c.bold("RECAP")} ${doc.command}\n${lines.join("\n")}\n${total}\n`;
}
