// Test files in the order that ends a suite soonest: longest first. A fresh
// clone (CI) has no timing cache, so Vitest would start files in path order
// and a long file started last keeps one worker busy after the others are
// done. The figures are seconds measured in CI (2026-12-06, two cores, files of
// 25 s or more; files new since then estimated);
// a file not listed counts as short. Groups (sequence.groupOrder) still run
// one after the other.
import { BaseSequencer, type TestSpecification } from "vitest/node";

const EXPECTED_SECONDS: Readonly<Record<string, number>> = {
  "test/compat/postmulti.test.ts": 1201,
  "test/unit/agent/system/host-lock.stress.test.ts": 28,
  "test/faults/playbook-controller.faults.test.ts": 578,
  "test/faults/fleet-controller.faults.test.ts": 375,
  "test/faults/lost-host.faults.test.ts": 362,
  "test/faults/fleet-command.faults.test.ts": 352,
  "test/integration/playbook/rolling-restart.test.ts": 319,
  "test/integration/playbook/revert.test.ts": 260,
  "test/integration/demo.test.ts": 230,
  "test/integration/playbook/create-instances.test.ts": 181,
  "test/integration/transport/openssh.test.ts": 180,
  "test/integration/cli/resident-agent.test.ts": 151,
  "test/integration/playbook/systemd.test.ts": 123,
  "test/faults/playbook-hosts.faults.test.ts": 110,
  "test/integration/agent/lock-serve.test.ts": 96,
  "test/oracle/inventory.oracle.test.ts": 88,
  "test/faults/resident.faults.test.ts": 76,
  "test/faults/resume.faults.test.ts": 72,
  "test/faults/hostile-input.faults.test.ts": 71,
  "test/integration/transport/code-cache.test.ts": 70,
  "test/integration/agent/config-new-instance.test.ts": 64,
  "test/integration/playbook/probe.test.ts": 64,
  "test/compat/wrapper.test.ts": 62,
  "test/integration/agent/structured.test.ts": 61,
  "test/integration/orchestrator/converge.test.ts": 61,
  "test/oracle/patterns.oracle.test.ts": 61,
  "test/integration/cli/lab-certificates.test.ts": 60,
  "test/integration/cli/fleet.test.ts": 59,
  "test/integration/transport/agent.test.ts": 58,
  "test/integration/agent/requests.test.ts": 57,
  "test/faults/resident-hardening.faults.test.ts": 56,
  "test/faults/concurrent.faults.test.ts": 52,
  "test/faults/controller-gone.faults.test.ts": 48,
  "test/integration/playbook/failure-budget.test.ts": 44,
  "test/integration/playbook/queue-gate.test.ts": 44,
  "test/integration/cli/resume.test.ts": 43,
  "test/faults/secrets.faults.test.ts": 40,
  "test/oracle/constructed.oracle.test.ts": 40,
  "test/integration/cli/drift.test.ts": 39,
  "test/oracle/vault-ids.oracle.test.ts": 37,
  "test/integration/cli/runs.test.ts": 36,
  "test/faults/journal.faults.test.ts": 35,
  "test/integration/agent/service-systemd.test.ts": 33,
  "test/integration/playbook/interrupt.test.ts": 32,
  "test/oracle/hardening.oracle.test.ts": 32,
  "test/integration/cli/sudo-jump.test.ts": 29,
  "test/oracle/playbook-batches.oracle.test.ts": 29,
  "test/oracle/generated.oracle.test.ts": 28,
  "test/oracle/malformed.oracle.test.ts": 28,
  "test/integration/playbook/idempotence.test.ts": 27,
  "test/integration/playbook/health-gate.test.ts": 26,
  "test/integration/cli/bootstrap.test.ts": 25,

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
