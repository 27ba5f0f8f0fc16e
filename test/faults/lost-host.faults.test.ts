// Host faults during a multi-step playbook run (settings, restart, wait): the
// ssh session killed mid-restart, the host paused during the wait step, its
// network cut during the settings step. The other hosts finish; the faulted
// one is reported as it is: unreachable, with the steps and instances it got
// through (the instance in flight: state unknown). Behind the cut link, the
// agent gives its silent controller up after the heartbeat deadline. The agent SIGKILLed
// between two postconf writes of one settings change: staged-edit.faults.test.ts.
import { reached } from "../support/faults/fault-case.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../support/lab.js";
import { AGENT_PATTERN, armHoldAtWrite, trapFired, cutNetwork, killSshSessions, pause, unpause } from "../support/faults/faults.js";
import { PB_POINT, playbookCase, startPlaybookLab } from "../support/faults/playbook-case.js";

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

  it("the host's network cut during the settings step: its agent gives the silent controller up, the lock is freed, the link comes back", async () => {
    // A cut link sends no EOF: the agent must notice the silence itself. Heartbeats every
    // second with a 12 s deadline (the defaults are 5 s and 30 s), well inside the controller's own
    // ssh keepalive (3 x 15 s), so the controller is still there when the link comes back.
    const h = lab.hosts[1]!;
    let restore: (() => Promise<void>) | undefined;
    let goneAfterMs = -1;
    let lockFree = false;
    await armHoldAtWrite(h, 3000);
    await playbookCase(lab, "playbook: network cut at settings", {
      faulted: [h.name],
      env: { POSTFLEET_AGENT_HEARTBEAT: "1000,12000" },
      inject: async () => {
        await reached(h, PB_POINT.settings, 120_000);
        restore = await cutNetwork(h);
        const t0 = Date.now();
        // The host is unreachable, but docker exec still sees inside it.
        await reached(h, `! pgrep -f -- '${AGENT_PATTERN}'`, 40_000);
        goneAfterMs = Date.now() - t0;
        lockFree = (await h.exec("flock -n /run/postfleet/agent.lock true")).exitCode === 0;
        await restore();
        restore = undefined;
      },
      repair: async () => restore?.(),
      exits: [2, 3],
    });
    expect(await trapFired(h), "the held write happened").toBe(true);
    // 12 s after the last heartbeat heard (up to 1 s before the cut), a second look 1 s later, the held write killed.
    expect(goneAfterMs, "the agent went after the deadline, link still cut").toBeGreaterThanOrEqual(10_000);
    expect(goneAfterMs).toBeLessThan(30_000);
    expect(lockFree, "the host lock was free once the agent had gone").toBe(true);
  });

});
