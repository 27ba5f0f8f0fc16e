// The faults suite's set-up: what the integration suite needs (a Docker
// engine, the lab image, current bundles), a fresh figures file for the
// cases, and at the end the figures table on stdout and in
// test-results-faults.md.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import integrationSetup from "../global-setup.js";
import { renderTable, totals } from "./figures.js";

export default function setup(project: TestProject): () => void {
  integrationSetup();
  const dir = mkdtempSync(join(tmpdir(), "postfleet-faults-"));
  const file = join(dir, "figures.jsonl");
  writeFileSync(file, "");
  project.provide("faultsFiguresFile", file);
  return () => {
    const table = renderTable(totals(file));
    process.stdout.write(`\n${table}\n`);
    writeFileSync(join(import.meta.dirname, "..", "..", "..", "test-results-faults.md"), table);
    rmSync(dir, { recursive: true, force: true });
  };
}
