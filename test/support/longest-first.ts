// Test files in the order that ends a suite soonest: longest first. A fresh
// clone (CI) has no timing cache, so Vitest would start files in path order
// and a long file started last keeps one worker busy after the others are
// done. The figures are seconds measured in a CI run (2026-12-07, two cores, files of
// 25 s or more);
// a file not listed counts as short. Groups (sequence.groupOrder) still run
// one after the other.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const EXPECTED_SECONDS: Readonly<Record<string, number>> = {
  "test/compat/postmulti.test.ts": 941,
  "test/faults/playbook-controller.faults.test.ts": 502,
  "test/faults/fleet-controller.faults.test.ts": 340,
  "test/faults/fleet-command.faults.test.ts": 287,
  "test/faults/lost-host.faults.test.ts": 280,
  "test/integration/demo.test.ts": 269,
  "test/integration/playbook/revert.test.ts": 232,
  "test/integration/playbook/create-instances.test.ts": 193,
  "test/integration/playbook/rolling-restart.test.ts": 173,
  "test/integration/cli/resident-agent.test.ts": 130,
  "test/integration/agent/lock-serve.test.ts": 129,
  "test/faults/playbook-hosts.faults.test.ts": 119,
  "test/faults/resume.faults.test.ts": 97,
  "test/integration/playbook/systemd.test.ts": 96,
  "test/compat/wrapper.test.ts": 92,
  "test/integration/orchestrator/converge.test.ts": 88,
  "test/integration/agent/requests.test.ts": 87,
  "test/integration/agent/structured.test.ts": 84,
  "test/integration/playbook/probe.test.ts": 80,
  "test/faults/resident.faults.test.ts": 78,
  "test/integration/agent/config-new-instance.test.ts": 76,
  "test/integration/transport/agent.test.ts": 75,
  "test/oracle/inventory.oracle.test.ts": 74,
  "test/integration/playbook/failure-budget.test.ts": 73,
  "test/integration/transport/openssh.test.ts": 69,
  "test/faults/hostile-input.faults.test.ts": 68,
  "test/integration/cli/fleet.test.ts": 63,
  "test/integration/cli/resume.test.ts": 60,
  "test/integration/agent/service-systemd.test.ts": 58,
  "test/integration/playbook/queue-gate.test.ts": 57,
  "test/faults/concurrent.faults.test.ts": 57,
  "test/faults/controller-gone.faults.test.ts": 52,
  "test/oracle/patterns.oracle.test.ts": 51,
  "test/faults/resident-hardening.faults.test.ts": 50,
  "test/oracle/malformed.oracle.test.ts": 50,
  "test/integration/cli/drift.test.ts": 47,
  "test/faults/secrets.faults.test.ts": 42,
  "test/integration/playbook/interrupt.test.ts": 37,
  "test/oracle/vault-ids.oracle.test.ts": 37,
  "test/integration/cli/runs.test.ts": 36,
  "test/integration/playbook/idempotence.test.ts": 35,
  "test/oracle/hardening.oracle.test.ts": 33,
  "test/unit/agent/system/host-lock.stress.test.ts": 32,
  "test/integration/playbook/health-gate.test.ts": 32,
  "test/oracle/playbook-batches.oracle.test.ts": 32,
  "test/integration/cli/sudo-jump.test.ts": 31,
  "test/faults/journal.faults.test.ts": 31,
  "test/oracle/generated.oracle.test.ts": 31,
  "test/oracle/ansible-config.oracle.test.ts": 26,
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
