import { defineConfig } from "vitest/config";
import LongestFirstSequencer from "./test/support/longest-first.js";

// Four suites: `unit` (pure logic, no Docker), `integration` (real lab
// containers; its global set-up makes a Docker engine and the lab image
// available first), `oracle` (differential tests against the real Ansible,
// installed by its set-up if missing) and `faults` (faults injected into lab
// hosts and the controller, hostile input). `npm test` runs all four: unit and
// oracle side by side first, then integration and faults side by side, the
// longest files first (test/support/longest-first.ts).
export default defineConfig({
  test: {
    // In CI, also a JSON record of the results, which .ci/run sums up in one line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results.json" }]] : ["default"],
    // Longest files first within each suite (a fresh clone has no timing cache).
    sequence: { sequencer: LongestFirstSequencer },
    env: { TESTCONTAINERS_RYUK_DISABLED: process.env.TESTCONTAINERS_RYUK_DISABLED ?? "true" },
    projects: [
      {
        test: {
          name: "unit",
          sequence: { groupOrder: 0 },
          include: ["test/unit/**/*.test.ts"],
          // Both cores (the default leaves one idle); the oracle suite shares this group,
          // so a CPU-heavy case (ssh -G corpora, 3000 keys) gets more than the default 5 s.
          maxWorkers: 2,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
          sequence: { groupOrder: 1 },
          include: ["test/integration/**/*.test.ts", "test/compat/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Side by side with the fault suite, three files at a time (each with its own lab
          // hosts): fault cases mostly wait (paused hosts, timeouts, heartbeats), and
          // integration files fill the two cores meanwhile.
          maxWorkers: 3,
        },
      },
      {
        test: {
          name: "oracle",
          // Side by side with the unit suite: both are mostly CPU (Ansible is Python).
          sequence: { groupOrder: 0 },
          maxWorkers: 2,
          // Differential tests against the real Ansible (installed by the set-up if missing).
          include: ["test/oracle/**/*.test.ts"],
          globalSetup: ["test/support/ansible-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "faults",
          sequence: { groupOrder: 1 },
          // Faults injected into real lab hosts and the controller, and a hostile-input
          // corpus; the set-up prints the figures table at the end (test-results-faults.md).
          include: ["test/faults/**/*.faults.test.ts"],
          globalSetup: ["test/support/faults/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          // Shares the integration suite's pool (same group: one maxWorkers).
          maxWorkers: 3,
        },
      },
    ],
  },
});
