// One settings change that takes several postconf writes (main.cf, then two
// master.cf fields of one service) with the agent SIGKILLed at the last of
// them: the live main.cf and master.cf stay exactly as they were (postconf
// edited staged copies, renamed into place only when every write succeeded),
// the host is reported, and a rerun applies everything and leaves no staging
// directory behind.
// A `postconf -e` made by hand while the staged postconf runs (slowed by the
// trap) is not undone by the rename: the agent sees main.cf changed under
// Postfix's own edit lock (main.cf.tmp), makes its edit again on the new
// file, and both settings are in main.cf afterwards.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postfleet } from "../support/cli.js";
import { startLab, type Lab } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { armAgentKillAtWrite, armHoldAtWrite, HOLDING, installPostconfTrap, trapFired, waitOnHost } from "../support/faults/faults.js";

/** A playbook of one step that sets `postconf` (YAML, indented under the step's postconf:) on the primary instance. */
const settingsPlaybook = (name: string, postconf: string) =>
  writePlaybook(
    name,
    `- name: settings
  hosts: all
  steps:
    - name: settings
      instances: ["-"]
      postconf:
${postconf}`,
  );
const PLAYBOOK = settingsPlaybook(
  "staged.yml",
  `        main_cf:
          delay_warning_time: 7h
        master_cf:
          pickup/unix:
            process_limit: "7"
            syslog_name: pickup-7
`,
);
const QUEUE_LIFETIME = settingsPlaybook("staged-concurrent.yml", "        main_cf:\n          maximal_queue_lifetime: 4d\n");
const FILES = "md5sum /etc/postfix/main.cf /etc/postfix/master.cf";

describe("a staged settings change under faults", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(1);
    await installPostconfTrap(lab.hosts[0]!);
  });
  afterAll(async () => {
    await lab?.stop();
  });
  const run = (playbook = PLAYBOOK) => postfleet(["-i", lab.inventoryPath, "run", playbook, "--json"], { env: { HOME: join(lab.dir, "home") } });

  it("leaves both files as they were, then a rerun applies all of it", async () => {
    const h = lab.hosts[0]!;
    const before = (await h.exec(FILES)).stdout;
    await armAgentKillAtWrite(h, 0, 2); // the third write: master.cf's syslog_name, after main.cf and process_limit
    const cut = await run();
    expect([2, 3], cut.stderr).toContain(cut.exitCode);
    expect(await trapFired(h), "the agent was killed at the third write").toBe(true);
    expect((await h.exec(FILES)).stdout, "main.cf and master.cf untouched").toBe(before);

    const again = await run();
    expect(again.exitCode, again.stderr).toBe(0);
    expect((await h.exec("postconf -h delay_warning_time")).stdout.trim()).toBe("7h");
    expect((await h.exec("postconf -M pickup/unix")).stdout).toMatch(/^pickup\s+unix\s+n\s+-\s+y\s+60\s+7\s+pickup\s+-o syslog_name=pickup-7$/m);
    expect((await h.exec("ls -a /etc/postfix | grep -c postfleet-staging || true")).stdout.trim()).toBe("0");
  });

  it("keeps a postconf -e made by hand while the staged postconf runs", async () => {
    const h = lab.hosts[0]!;
    await armHoldAtWrite(h, 3000); // the run's only write waits 3 s, on its staged copy
    const running = run(QUEUE_LIFETIME);
    expect(await waitOnHost(h, HOLDING, 30_000), "the staged write was held").toBe(true);
    const manual = await h.exec("postconf -e manual_during=yes");
    expect(manual.exitCode, manual.stderr).toBe(0);
    const r = await running;
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await trapFired(h)).toBe(true);
    // Not a Postfix parameter (postconf would not print it): read the file.
    expect((await h.exec("grep -x 'manual_during = yes' /etc/postfix/main.cf")).exitCode, "the manual edit survived the run").toBe(0);
    expect((await h.exec("postconf -n -h maximal_queue_lifetime")).stdout.trim(), "the run's setting is there too").toBe("4d");
    // postconf -e appends a new parameter: the run's came after the manual one, so the manual
    // edit was made while the run's staged write was held (the race this case is about).
    const order = (await h.exec("grep -o -e '^manual_during' -e '^maximal_queue_lifetime' /etc/postfix/main.cf")).stdout.split("\n").filter(Boolean);
    expect(order).toEqual(["manual_during", "maximal_queue_lifetime"]);
    expect((await h.exec("ls -a /etc/postfix | grep -c -e postfleet-staging -e '[.]tmp$' || true")).stdout.trim()).toBe("0");
  });

  it("relies on what Postfix does: postconf -e waits while another process holds flock(2) on main.cf.tmp", async () => {
    const h = lab.hosts[0]!;
    const r = await h.exec(
      "flock -x /etc/postfix/main.cf.tmp sh -c 'touch /run/tmp-locked; sleep 1.5' & " +
        "until [ -e /run/tmp-locked ]; do sleep 0.02; done; s=$(date +%s%N); postconf -e manual_after=yes; e=$(date +%s%N); wait; rm -f /run/tmp-locked; echo $(( (e - s) / 1000000 ))",
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Number(r.stdout.trim()), "ms postconf -e took").toBeGreaterThanOrEqual(1000);
    expect((await h.exec("grep -x 'manual_after = yes' /etc/postfix/main.cf")).exitCode).toBe(0);
  });
});
