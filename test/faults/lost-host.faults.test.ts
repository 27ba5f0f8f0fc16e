// Host faults during a multi-step playbook run (settings, restart, wait): the
// ssh session killed mid-restart, the host paused during the wait step, its
// network cut during the settings step. The other hosts finish; the faulted
// one is reported as it is: unreachable, with the steps and instances it got
// through (the instance in flight: state unknown). The agent SIGKILLed
// between two postconf writes of one settings change: staged-edit.faults.test.ts.
import { reached } from "./support/fault-case.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../support/lab.js";
import { armHoldAtWrite, trapFired, cutNetwork, killSshSessions, pause, unpause } from "./support/faults.js";
import { PB_POINT, playbookCase, startPlaybookLab } from "./support/playbook-case.js";

describe("host faults during a playbook run", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startPlaybookLab();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("the ssh session killed mid-restart", async () => {
    const h = lab.hosts[1]!;
    await playbookCase(lab, "playbook: sshd killed at restart", {
      faulted: [h.name],
      inject: async () => {
        if (await reached(h, PB_POINT.restart, 120_000)) await killSshSessions(h);
      },
      exits: [2, 3],
    });
  });

  it("the host paused during the wait step, past the operation timeout", async () => {
    // The last batch's host, so that the short operation timeout cuts no other host's restart.
    const h = lab.hosts[3]!;
    await playbookCase(lab, "playbook: host paused at wait", {
      faulted: [h.name],
      opTimeout: 25,
      inject: async () => {
        if (await reached(h, PB_POINT.wait, 120_000)) await pause(h);
      },
      repair: () => unpause(h),
      exits: [2, 3],
    });
  });

  it("the host's network cut during the settings step", async () => {
    const h = lab.hosts[1]!;
    let restore: (() => Promise<void>) | undefined;
    await armHoldAtWrite(h, 3000);
    await playbookCase(lab, "playbook: network cut at settings", {
      faulted: [h.name],
      inject: async () => {
        if (await reached(h, PB_POINT.settings, 120_000)) restore = await cutNetwork(h);
      },
      repair: async () => restore?.(),
      exits: [2, 3],
    });
    expect(await trapFired(h), "the held write happened").toBe(true);
  });

});
