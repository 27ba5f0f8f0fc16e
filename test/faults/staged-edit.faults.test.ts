// One settings change that takes several postconf writes (main.cf, then two
// master.cf fields of one service) with the agent SIGKILLed at the last of
// them: the live main.cf and master.cf stay exactly as they were (postconf
// edited staged copies, renamed into place only when every write succeeded),
// the host is reported, and a rerun applies everything and leaves no staging
// directory behind.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postfleet } from "../support/cli.js";
import { startLab, type Lab } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { armAgentKillAtWrite, installPostconfTrap, trapFired } from "./support/faults.js";

const PLAYBOOK = writePlaybook(
  "staged.yml",
  `- name: settings
  hosts: all
  steps:
    - name: settings
      instances: ["-"]
      postconf:
        main_cf:
          delay_warning_time: 7h
        master_cf:
          pickup/unix:
            process_limit: "7"
            syslog_name: pickup-7
`,
);
const FILES = "md5sum /etc/postfix/main.cf /etc/postfix/master.cf";

describe("a settings change cut by a killed agent", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(1);
    await installPostconfTrap(lab.hosts[0]!);
  });
  afterAll(async () => {
    await lab?.stop();
  });
  const run = () => postfleet(["-i", lab.inventoryPath, "run", PLAYBOOK, "--json"], { env: { HOME: join(lab.dir, "home") } });

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
});
