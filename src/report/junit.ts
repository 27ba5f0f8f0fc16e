// JUnit XML of a run, for CI systems that show test results natively: a
// testsuite per play (one-command runs: one suite named by the command), a
// testcase per host; <failure> for failed and unreachable hosts, <skipped>
// for hosts not attempted (or left in flight by a run that stopped).
import type { HostOutcome, RunDocument } from "../orchestrator/run-document.js";
import type { PlaybookDocument, PlayHostOutcome } from "../orchestrator/steps/step-results.js";

/** XML 1.0 text: escaped, and the characters XML cannot hold at all dropped. */
export function xmlText(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

interface Suite {
  name: string;
  hosts: HostOutcome[];
}

function suitesOf(doc: RunDocument): Suite[] {
  const pb = doc as Partial<PlaybookDocument>;
  if (Array.isArray(pb.plays)) return pb.plays.map((p) => ({ name: p.name, hosts: p.batches.flatMap((b) => b.hosts) }));
  return [{ name: doc.command, hosts: doc.hosts }];
}

const secs = (ms: number) => (ms / 1000).toFixed(3);

function testcase(h: HostOutcome, suite: string): string {
  const attrs = `name="${xmlText(h.host)}" classname="${xmlText(suite)}" time="${secs(h.durationMs)}"`;
  const steps = (h as Partial<PlayHostOutcome>).steps ?? [];
  const detail = [h.error, h.message, ...steps.filter((s) => s.status === "failed").map((s) => `step ${s.index + 1} (${s.name}): ${s.error ?? "failed"}`)].filter(Boolean).join("\n");
  if (h.status === "failed" || h.status === "unreachable")
    return `    <testcase ${attrs}>\n      <failure type="${h.status}" message="${xmlText(h.error ?? h.status)}">${xmlText(detail)}</failure>\n    </testcase>`;
  if (h.status === "skipped") return `    <testcase ${attrs}>\n      <skipped message="${xmlText(h.error ?? "not attempted")}"/>\n    </testcase>`;
  return `    <testcase ${attrs}/>`;
}

export function renderJunit(doc: RunDocument): string {
  const suites = suitesOf(doc);
  const count = (hs: HostOutcome[], ...st: string[]) => hs.filter((h) => st.includes(h.status)).length;
  const all = suites.flatMap((s) => s.hosts);
  const total = (hs: HostOutcome[]) => secs(hs.reduce((n, h) => n + h.durationMs, 0));
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlText(doc.command)}" tests="${all.length}" failures="${count(all, "failed", "unreachable")}" errors="0" skipped="${count(all, "skipped")}" time="${total(all)}">`,
  ];
  for (const s of suites) {
    out.push(`  <testsuite name="${xmlText(s.name)}" tests="${s.hosts.length}" failures="${count(s.hosts, "failed", "unreachable")}" errors="0" skipped="${count(s.hosts, "skipped")}" time="${total(s.hosts)}">`);
    for (const h of s.hosts) out.push(testcase(h, s.name));
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`, "");
  return out.join("\n");
}
