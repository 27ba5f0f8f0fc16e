// Renders the mismatch records (POSTFLEET_COMPAT_REPORT JSON lines) as the
// markdown of test/compat/MISMATCHES.md: per scenario, each differing step
// (command, expected vs got) and each differing file.
// Usage: npx tsx test/support/compat/render-mismatches.ts <report.jsonl> [heading note]
import { readFileSync } from "node:fs";
import type { Mismatch } from "./report.js";

const fence = (s: string) => `\`\`\`\n${s.replace(/```/g, "ˋˋˋ")}${s.endsWith("\n") || s === "" ? "" : "\n"}\`\`\``;

function field(name: string, real: string | number, got: string | number | undefined): string[] {
  if (real === got) return [];
  if (typeof real === "number" || typeof got === "number" || got === undefined) {
    return [`- ${name}: expected \`${real}\`, got \`${got ?? "(step did not run)"}\``];
  }
  return [`- ${name}, expected:`, fence(real), `  got:`, fence(got)];
}

/** Lines only in one of two texts (multiset difference): short enough for 700-line main.cf files. */
function lineDiff(real: string | string[], got: string | string[]): string {
  const asLines = (t: string | string[]) => (typeof t === "string" ? t.split("\n") : t);
  const count = (t: string | string[]) => asLines(t).reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const r = count(real);
  const g = count(got);
  const lines: string[] = [];
  for (const [l, n] of r) for (let i = 0; i < n - (g.get(l) ?? 0); i++) lines.push(`- ${l}`);
  for (const [l, n] of g) for (let i = 0; i < n - (r.get(l) ?? 0); i++) lines.push(`+ ${l}`);
  return `${lines.join("\n")}\n`;
}

export function render(records: Mismatch[], note = ""): string {
  const out = ["# Agent vs real postmulti: mismatches", ""];
  if (note) out.push(note.replace(/\\n/g, "\n"), "");
  if (records.length === 0) out.push("None: every scenario matches.");
  for (const m of records.sort((a, b) => a.scenario.localeCompare(b.scenario))) {
    out.push(`## ${m.scenario}`, "");
    for (const s of m.steps) {
      out.push(`### step ${s.index + 1}: \`${s.real.step}\``, "");
      out.push(...field("exit code", s.real.exitCode, s.subject?.exitCode));
      out.push(...field("stdout", s.real.stdout, s.subject?.stdout));
      out.push(...field("stderr", s.real.stderr, s.subject?.stderr));
      out.push("");
    }
    if (m.log) {
      out.push("### mail log (program: text; - expected only, + got only)", "", fence(lineDiff(m.log.real, m.log.subject)), "");
    }
    const files = Object.entries(m.tree);
    if (files.length > 0) {
      out.push("### file tree after the steps", "");
      for (const [path, [real, got]] of files) {
        if (real !== undefined && got !== undefined && (real.includes("\n") || got.includes("\n"))) {
          out.push(`- \`${path}\` (- expected only, + got only):`, fence(lineDiff(real, got)));
        } else {
          out.push(`- \`${path}\`: expected \`${real ?? "(absent)"}\`, got \`${got ?? "(absent)"}\``);
        }
      }
      out.push("");
    }
  }
  return `${out.join("\n")}\n`;
}

if (process.argv[1]?.endsWith("render-mismatches.ts")) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: render-mismatches.ts <report.jsonl> [note]");
  const records = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Mismatch);
  process.stdout.write(render(records, process.argv[3] ?? ""));
}
