// Two controllers against the same hosts at once. Each run's settings step
// (main.cf and master.cf of every enabled instance, several postconf writes)
// must not interleave with the other's: every instance ends with all of one
// run's values, never a mix; both runs end with the documented exit code;
// nothing is left behind.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { docOf, documentedExit, startController } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { configSnapshot, controllerLeftovers, hostLeftovers, mainParams } from "../support/faults/host-checks.js";
import { sleep } from "../support/faults/faults.js";

// One step, one config request per instance: main.cf and master.cf together under the host lock.
const SETTINGS = writePlaybook(
  "settings.yml",
  `- hosts: all
  steps:
    - instances: enabled
      postconf:
        main_cf:
          delay_warning_time: "{{ v }}h"
          maximal_queue_lifetime: "{{ v }}d"
        master_cf:
          pickup/unix:
            process_limit: "{{ v }}"
            syslog_name: "pickup-{{ v }}"
`,
);

describe("two controllers against the same hosts at once", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(3);
    await Promise.all(lab.hosts.map((h) => h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable")));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  /** The run (A or B) whose values an instance carries, or a description of the mix. */
  function owner(main: string, master: string, a: number, b: number): string {
    const p = mainParams({ main, master: "" });
    const pick = (v: string | undefined, suffix: string) => (v === `${a}${suffix}` ? "A" : v === `${b}${suffix}` ? "B" : `?${v}`);
    const pickup = /^pickup\s+unix\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)\s+pickup(.*)$/m.exec(master);
    const owners = [
      pick(p.delay_warning_time, "h"),
      pick(p.maximal_queue_lifetime, "d"),
      pick(pickup?.[1], ""),
      pickup?.[2]?.includes(`syslog_name=pickup-${a}`) ? "A" : pickup?.[2]?.includes(`syslog_name=pickup-${b}`) ? "B" : "?",
    ];
    return new Set(owners).size === 1 ? owners[0]! : `mixed ${owners.join(",")}`;
  }

  it("settings runs started together, and staggered by 50 and 300 ms: never interleaved", async () => {
    let v = 10;
    for (const offset of [0, 50, 300]) {
      const a = ++v;
      const b = ++v;
      const env = { HOME: join(lab.dir, "home") };
      const args = (x: number) => ["-i", lab.inventoryPath, "run", SETTINGS, "-e", `v=${x}`, "--json"];
      const ra = startController(args(a), { env });
      await sleep(offset);
      const rb = startController(args(b), { env });
      const [A, B] = await Promise.all([ra.done, rb.done]);
      const details: string[] = [];
      let interleaved = 0;
      for (const [label, r] of [["A", A], ["B", B]] as const) {
        const doc = docOf(r);
        if (!doc) details.push(`${label}: no document (exit ${r.exitCode}): ${r.stderr.slice(0, 300)}`);
        else if (r.exitCode !== documentedExit(doc)) details.push(`${label}: exit ${r.exitCode}, document implies ${documentedExit(doc)}`);
        else if (r.exitCode !== 0) details.push(`${label}: exit ${r.exitCode}: ${JSON.stringify(doc.hosts.map((h: any) => [h.host, h.status, h.error]))}`);
      }
      for (const h of lab.hosts) {
        const snap = await configSnapshot(h);
        for (const [dir, c] of Object.entries(snap)) {
          const who = owner(c.main, c.master, a, b);
          if (who !== "A" && who !== "B") {
            interleaved++;
            details.push(`${h.name}:${dir}: ${who}`);
          }
        }
      }
      const leaked = [...(await controllerLeftovers(lab.dir, lab.hosts.map((h) => h.port))), ...(await Promise.all(lab.hosts.map((h) => hostLeftovers(h)))).flat()];
      details.push(...leaked);
      recordCase({ case: `two controllers, settings, offset ${offset} ms`, interleaved, leaked: leaked.length, details });
      expect(details).toEqual([]);
    }
  });
});
