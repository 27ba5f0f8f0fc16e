// Test files in the order that ends a suite soonest: longest first. A fresh
// clone (CI) has no timing cache, so Vitest would start files in path order
// and a long file started last keeps one worker busy after the others are
// done. The figures are seconds measured in CI (2026-12-06, two cores);
// a file not listed counts as short. Groups (sequence.groupOrder) still run
// one after the other.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const EXPECTED_SECONDS: Readonly<Record<string, number>> = {
  "test/compat/postmulti.test.ts": 450,
  "test/integration/playbook/rolling-restart.test.ts": 325,
  "test/integration/cli/package.test.ts": 200,
  "test/integration/demo.test.ts": 190,
  "test/integration/playbook/create-instances.test.ts": 170,
  "test/integration/cli/resident-agent.test.ts": 105,
  "test/integration/agent/lock-serve.test.ts": 90,
  "test/integration/playbook/idempotence.test.ts": 90,
  "test/integration/playbook/failure-budget.test.ts": 85,
  "test/integration/playbook/systemd.test.ts": 85,
  "test/integration/playbook/health-gate.test.ts": 85,
  "test/integration/cli/fleet.test.ts": 70,
  "test/integration/cli/report.test.ts": 100,
  "test/integration/playbook/probe.test.ts": 70,
  "test/integration/playbook/queue-gate.test.ts": 150,
  "test/integration/playbook/revert.test.ts": 150,
  "test/integration/transport/openssh.test.ts": 120,
  "test/integration/cli/resume.test.ts": 90,
  "test/faults/fleet-command.faults.test.ts": 260,
  "test/faults/lost-host.faults.test.ts": 250,
  "test/faults/playbook-controller.faults.test.ts": 240,
  "test/faults/fleet-controller.faults.test.ts": 220,
  "test/faults/resume.faults.test.ts": 180,
  "test/faults/playbook-hosts.faults.test.ts": 130,
  "test/faults/resident.faults.test.ts": 105,
  "test/faults/concurrent.faults.test.ts": 75,
  "test/oracle/inventory.oracle.test.ts": 56,
  "test/oracle/inventory-output.oracle.test.ts": 60,
  "test/oracle/patterns.oracle.test.ts": 47,
};

const expected = (s: TestSpecification): number => {
  const rel = s.moduleId.slice(s.project.config.root.length).replace(/^\/+/, "");
  return EXPECTED_SECONDS[rel] ?? 0;
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const group = (s: TestSpecification) => s.project.config.sequence.groupOrder ?? 0;
    // Array.prototype.sort is stable: files of equal weight keep the base order.
    return [...base].sort((a, b) => group(a) - group(b) || expected(b) - expected(a));
  }
}
