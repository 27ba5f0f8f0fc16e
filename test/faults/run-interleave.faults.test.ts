// Two runs of a two-step playbook on one host: run B started during run A's
// pause between its two settings steps waits for the host lock that A holds
// across its steps, so the host ends with one run's values, never a mix.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { startController } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { mainParams, configSnapshot } from "../support/faults/host-checks.js";

describe("two controllers, two-step playbooks on one host", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(1);
    await lab.hosts[0]!.exec("postmulti -e init");
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("run B (no pause) started during run A's pause between its two settings steps: the host ends with one run's values", async () => {
    const pb = writePlaybook(
      "two-steps.yml",
      `- hosts: all
  steps:
    - instances: ["-"]
      postconf: {main_cf: {delay_warning_time: "{{ v }}h"}}
    - pause: "{{ p }}"
    - instances: ["-"]
      postconf: {main_cf: {maximal_queue_lifetime: "{{ v }}d"}}
`,
    );
    const env = { HOME: join(lab.dir, "home") };
    const a = startController(["-i", lab.inventoryPath, "run", pb, "-e", "v=1 p=6s", "--json"], { env });
    await new Promise((r) => setTimeout(r, 2500));
    const b = startController(["-i", lab.inventoryPath, "run", pb, "-e", "v=2 p=0s", "--json"], { env });
    await Promise.all([a.done, b.done]);
    const p = mainParams((await configSnapshot(lab.hosts[0]!))["/etc/postfix"]);
    const owners = [p.delay_warning_time === "1h" ? "A" : "B", p.maximal_queue_lifetime === "1d" ? "A" : "B"];
    const mixed = owners[0] !== owners[1];
    recordCase({ case: "two controllers, two-step playbooks", interleaved: mixed ? 1 : 0, details: mixed ? [`delay_warning_time ${p.delay_warning_time}, maximal_queue_lifetime ${p.maximal_queue_lifetime}`] : [] });
    expect(owners[0]).toBe(owners[1]);
  });
});
