// The suite's figures: every case appends one line (its name and what it
// found) to a file the global set-up names; the teardown sums them up into
// the table the suite prints and writes to test-results-faults.md. The goal
// for every column but "cases" is 0.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { inject } from "vitest";

export const FIGURE_COLUMNS = {
  cases: "cases run",
  unstated: "hosts left in an unstated state",
  halfWritten: "half-written files",
  interleaved: "interleaved edits",
  leaked: "leaked processes",
  badKeysAccepted: "accepted bad host keys",
  secrets: "secrets found in outputs",
} as const;
export type FigureName = Exclude<keyof typeof FIGURE_COLUMNS, "cases">;

export interface CaseFigures extends Partial<Record<FigureName, number>> {
  case: string;
  /** What each non-zero figure was (for the report). */
  details?: string[];
}

declare module "vitest" {
  export interface ProvidedContext {
    faultsFiguresFile: string;
  }
}

/** Record one case's figures (call once per case, after its checks ran). */
export function recordCase(f: CaseFigures): void {
  const file = inject("faultsFiguresFile");
  // A temporary directory can be cleaned up under a long run: recreate it rather than lose the case.
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(f)}\n`);
}

export interface FigureTotals extends Record<keyof typeof FIGURE_COLUMNS, number> {
  details: string[];
}

export function totals(file: string): FigureTotals {
  const t: FigureTotals = { cases: 0, unstated: 0, halfWritten: 0, interleaved: 0, leaked: 0, badKeysAccepted: 0, secrets: 0, details: [] };
  if (!existsSync(file)) return t;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const f = JSON.parse(line) as CaseFigures;
    t.cases++;
    for (const k of Object.keys(FIGURE_COLUMNS) as Array<keyof typeof FIGURE_COLUMNS>) if (k !== "cases") t[k] += f[k] ?? 0;
    for (const d of f.details ?? []) t.details.push(`${f.case}: ${d}`);
  }
  return t;
}

/** The table as Markdown (also readable on a terminal). */
export function renderTable(t: FigureTotals): string {
  const rows = (Object.entries(FIGURE_COLUMNS) as Array<[keyof typeof FIGURE_COLUMNS, string]>).map(
    ([k, label]) => `| ${label} | ${t[k]} |`,
  );
  const details = t.details.length ? `\nFindings:\n${t.details.map((d) => `- ${d}`).join("\n")}\n` : "";
  return `## postfleet fault-injection suite\n\n| figure | count |\n|---|---:|\n${rows.join("\n")}\n${details}`;
}
