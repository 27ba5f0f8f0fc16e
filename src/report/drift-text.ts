// `postfleet drift` as text: one line per instance name without drift, else
// the reference's hosts and each outlier group's differences.
import type { Difference, DriftReport, InstanceDrift } from "../drift/compare.js";

/** "mta01, mta02 and 3 more" */
export function hostList(hosts: readonly string[], max = 6): string {
  if (hosts.length <= max) return hosts.join(", ");
  return `${hosts.slice(0, max).join(", ")} and ${hosts.length - max} more`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One difference as words: "main.cf changed smtpd_timeout: 1200s → 300s". */
export function describeDifference(d: Difference): string {
  const show = (v: string | undefined) => (v === undefined ? "" : v === "" ? '""' : v);
  switch (d.what) {
    case "instance":
      return d.change === "missing" ? "instance missing" : "instance extra (not in the reference)";
    case "group":
    case "enabled":
    case "order":
      return `${d.what} ${show(d.reference)} → ${show(d.actual)}`;
    default:
      if (d.change === "added") return `${d.what} added ${d.name} = ${show(d.actual)}`;
      if (d.change === "removed") return `${d.what} removed ${d.name} (was ${show(d.reference)})`;
      return `${d.what} changed ${d.name}: ${show(d.reference)} → ${show(d.actual)}`;
  }
}

function instanceTitle(i: InstanceDrift): string {
  return i.name === "-" ? "- (primary)" : i.name;
}

export function renderDriftText(r: DriftReport): string {
  const out: string[] = [];
  const againstWords = r.against === "majority" ? "with each other" : `with the ${r.against}`;
  out.push(`postfleet drift: ${plural(r.hosts.length, "host")} compared ${againstWords}`);
  const versions = r.versions.map((v) => `postfix ${v.version} on ${v.hosts.length === r.hosts.length ? "every host" : hostList(v.hosts)}`);
  if (versions.length) out.push(`${r.versionDrift ? "DRIFT: " : ""}${versions.join("; ")}`);
  if (r.normalised.length) {
    out.push("normalised (host names and addresses replaced before comparing):");
    for (const n of r.normalised) out.push(`  ${n.instance} ${n.setting}: ${n.placeholders.join(", ")} on ${plural(n.hosts.length, "host")}`);
  }
  if (r.ignored.length) out.push(`ignored: ${r.ignored.join(", ")}`);
  for (const m of r.missingHosts) out.push(`not compared: ${m.host} (${m.status}${m.error ? `: ${m.error}` : ""})`);
  for (const u of r.unreadable) out.push(`not compared: ${u.host} instance ${u.instance} (${u.error})`);
  out.push("");
  for (const i of r.instances) {
    const title = instanceTitle(i);
    if (i.outliers.length === 0) {
      out.push(`${title}: no drift (${plural(r.hosts.length, "host")})`);
      continue;
    }
    const differing = i.outliers.reduce((n, g) => n + g.hosts.length, 0);
    out.push(`${title}: DRIFT on ${plural(differing, "host")}`);
    if (i.reference.hosts.length) out.push(`  reference: ${hostList(i.reference.hosts)}${i.reference.config ? "" : " (no such instance)"}`);
    for (const g of i.outliers) {
      out.push(`  ${hostList(g.hosts)}:`);
      for (const d of g.differences) out.push(`    ${describeDifference(d)}`);
    }
  }
  out.push("");
  out.push(r.drift ? "drift found" : "no drift");
  return out.join("\n") + "\n";
}
