// The controller killed (SIGKILL) while a host runs a long command for it: a
// `postmulti -x sleep 40`, a playbook `run` step, a `wait` step, with a fresh
// agent (--agent-persist 0) and through the resident agent. The
// agent sees its input end and cancels what runs (process group TERM, then
// KILL) and releases the host lock: no `sleep` stays, and the next run gets
// the lock at once. The resident agent itself stays for the next run.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { reached, runFaultCase } from "../support/faults/fault-case.js";
import { fleetStated } from "../support/faults/fleet-state.js";

const SLEEPING = "pgrep -f '^sleep 40$'";
const RESIDENT = "[p]ostfleet-agent .resident.";
/** Exit 0 when nobody holds the host lock (the agent's flock(2) lock). */
const LOCK_FREE = "flock -n /run/postfleet/agent.lock true";

/** A one-play, one-step playbook on the postfix-out instance. */
const oneStep = (name: string, step: string) =>
  writePlaybook(`${name}.yml`, `- name: ${name}\n  hosts: all\n  steps:\n    - name: ${name}\n      instances: [postfix-out]\n${step}`);
const RUN_STEP = oneStep("run-step", `      run: [sleep, "40"]\n`);
const WAIT_STEP = oneStep("wait-step", `      wait:\n        command: [sleep, "40"]\n        timeout: 90s\n`);

describe("the controller killed while a host runs its command", () => {
  let lab: Lab;
  let h: TestLabHost;
  const env = (resident: boolean): Record<string, string> => ({
    HOME: join(lab.dir, "home"),
    XDG_STATE_HOME: join(lab.dir, "state"),
    POSTFLEET_AGENT_PERSIST: resident ? "300" : "0",
  });
  const residents = async () => (await h.exec(`pgrep -f -- '${RESIDENT}' || true`)).stdout.split("\n").filter(Boolean).map(Number);
  /** Poll a shell condition on the host (outside a case: waitOnHost gives up once a case is over). */
  const until = async (condition: string, ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if ((await h.exec(condition)).exitCode === 0) return true;
    return false;
  };

  beforeAll(async () => {
    lab = await startLab(1);
    h = lab.hosts[0]!;
    await h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -p start");
  });
  afterAll(async () => {
    await lab?.stop();
  });

  /** SIGKILL the controller running `args` once `sleep 40` runs on the host; then nothing stays, the lock is free, the next run takes it at once. */
  async function killedWhileSleeping(name: string, args: string[], resident: boolean) {
    await runFaultCase({
      name,
      hosts: [h],
      args: ["-i", lab.inventoryPath, "--json", "-T", "15", ...args],
      env: env(resident),
      inject: async ({ controller }) => {
        if (await reached(h, SLEEPING)) controller.signal("SIGKILL");
      },
      exits: ["SIGKILL"],
      stated: fleetStated({ kind: "edit", settings: {} }, false),
      marker: lab.dir,
      ports: [h.port],
      residentAllowed: resident,
    });
    // runFaultCase found no `sleep` (nor agent, nor ssh session) left within its grace, and the lock is
    // free now, while the killed run's `sleep 40` would still hold it: the next run takes it at once
    // (not timed: on a loaded machine a plain run can take as long as that wait).
    expect((await h.exec(LOCK_FREE)).exitCode, "the host lock is free").toBe(0);
    const next = await postfleet(["-i", lab.inventoryPath, "--json", "postmulti", "-x", "true"], { env: env(resident) });
    expect(next.exitCode, next.stderr).toBe(0);
    expect(jsonOf(next).hosts[0].status).toMatch(/ok|changed/);
  }

  it("postmulti -x sleep 40, a fresh agent (--agent-persist 0)", async () => {
    await killedWhileSleeping("controller SIGKILL during -x sleep 40 (fresh agent)", ["postmulti", "-x", "sleep", "40"], false);
  });

  it("postmulti -x sleep 40 through the resident agent, which stays", async () => {
    // A first run leaves the resident agent; the case reaches it.
    const warm = await postfleet(["-i", lab.inventoryPath, "--json", "postmulti", "-l"], { env: env(true) });
    expect(warm.exitCode, warm.stderr).toBe(0);
    try {
      expect(await until(`pgrep -f -- '${RESIDENT}'`, 15_000), "a resident agent was left").toBe(true);
      const before = await residents();
      expect(before).toHaveLength(1);
      await killedWhileSleeping("controller SIGKILL during -x sleep 40 (resident agent)", ["postmulti", "-x", "sleep", "40"], true);
      expect(await residents(), "the resident agent stays").toEqual(before);
    } finally {
      // The other cases keep no agent.
      await h.exec(`pkill -f -- '${RESIDENT}' || true`);
      expect(await until(`! pgrep -f -- '${RESIDENT}'`, 10_000), "the resident agent ended").toBe(true);
    }
  });

  it("a playbook run step (sleep 40)", async () => {
    await killedWhileSleeping("controller SIGKILL during a run step", ["run", RUN_STEP], false);
  });

  it("a playbook wait step (its command: sleep 40)", async () => {
    await killedWhileSleeping("controller SIGKILL during a wait step", ["run", WAIT_STEP], false);
  });
});
