// Faults around the resident agent (kept between runs, the default): killed
// between runs, killed in the middle of an edit it was making, its caller's
// ssh session killed in the middle of a held write, and a foreign listener
// that took its socket and never answers. Every case: the run ends with the
// documented exit code, each host's report matches it, files whole, no more
// than one idle resident agent per host afterwards, and the next run works.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { reached, runFaultCase } from "../support/faults/fault-case.js";
import { armAgentKillAtWrite, armHoldAtWrite, HOLDING, installPostconfTrap, killSshSessions, trapFired } from "../support/faults/faults.js";
import { fleetStated, type FleetAction } from "../support/faults/fleet-state.js";

const PERSIST = "300";
const RESIDENT = "[p]ostfleet-agent .resident.";

describe("faults around the resident agent", () => {
  let lab: Lab;
  let n = 0;
  const env = () => ({ HOME: join(lab.dir, "home"), XDG_STATE_HOME: join(lab.dir, "state"), POSTFLEET_AGENT_PERSIST: PERSIST });
  const base = (...more: string[]) => ["-i", lab.inventoryPath, "--json", "-T", "15", "--op-timeout", "15", ...more];
  const edit = () => {
    n++;
    const settings = { delay_warning_time: `${n}h`, maximal_queue_lifetime: `${n + 1}d` };
    return { action: { kind: "edit", settings } as FleetAction, argv: ["postmulti", "-x", "postconf", "-e", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)] };
  };
  const residents = async (h: TestLabHost) => (await h.exec(`pgrep -f -- '${RESIDENT}' || true`)).stdout.split("\n").filter(Boolean).map(Number);
  /** A plain run; which hosts reached a resident agent (timings.resident). */
  const listRun = async () => {
    const r = await postfleet(base("postmulti", "-l"), { env: env() });
    expect(r.exitCode, r.stderr).toBe(0);
    return Object.fromEntries(jsonOf(r).hosts.map((x: any) => [x.host, x.timings?.resident === true]));
  };

  function residentCase(name: string, o: { faulted: string[]; inject: Parameters<typeof runFaultCase>[0]["inject"]; exits: number[]; repair?: () => Promise<void> }, cmd = edit()) {
    return runFaultCase({
      name,
      hosts: lab.hosts,
      args: base(...cmd.argv),
      env: env(),
      inject: o.inject,
      ...(o.repair ? { repair: o.repair } : {}),
      rerun: ["-i", lab.inventoryPath, "--json", ...cmd.argv],
      exits: o.exits,
      stated: (doc, h, b, nw) => fleetStated(cmd.action, !o.faulted.includes(h.name))(doc, h, b, nw),
      marker: lab.dir,
      ports: lab.hosts.map((h) => h.port),
      residentAllowed: true,
    });
  }

  beforeAll(async () => {
    lab = await startLab(2);
    await Promise.all(
      lab.hosts.map(async (h) => {
        await h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable && postmulti -p start");
        await installPostconfTrap(h);
      }),
    );
    // The first run leaves one resident agent per host; the second reaches them.
    await listRun();
    expect(await listRun()).toEqual({ mta01: true, mta02: true });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("killed (SIGKILL) between runs: the next run starts a fresh agent and keeps that one", async () => {
    const h = lab.hosts[0]!;
    const [old] = await residents(h);
    await h.exec(`pkill -9 -f -- '${RESIDENT}'`);
    const { doc } = await residentCase("resident agent killed between runs", { faulted: [], inject: async () => undefined, exits: [0] });
    expect(doc.hosts.find((x: any) => x.host === h.name).timings.resident).not.toBe(true);
    const now = await residents(h);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(old);
    expect((await listRun())[h.name]).toBe(true);
  });

  it("killed (SIGKILL) in the middle of an edit it was making: that host fails, files whole, the next run starts afresh", async () => {
    const h = lab.hosts[1]!;
    expect((await listRun())[h.name]).toBe(true);
    await armAgentKillAtWrite(h, 0);
    const { doc } = await residentCase("resident agent SIGKILL mid-edit", { faulted: [h.name], inject: async () => undefined, exits: [2, 3] });
    expect(await trapFired(h), "the trap fired").toBe(true);
    expect(doc.hosts.find((x: any) => x.host === h.name).status).toMatch(/failed|unreachable/);
    expect(await residents(h)).toHaveLength(1); // the rerun's
  });

  it("its caller's ssh session killed during a held write: that host fails, the resident agent stays and serves the next run", async () => {
    const h = lab.hosts[0]!;
    expect((await listRun())[h.name]).toBe(true);
    const before = await residents(h);
    await armHoldAtWrite(h, 2000);
    await residentCase("ssh session killed while a run uses the resident agent", {
      faulted: [h.name],
      inject: async () => {
        if (await reached(h, HOLDING)) await killSshSessions(h);
      },
      exits: [2, 3],
    });
    expect(await trapFired(h), "the held write happened").toBe(true);
    expect(await residents(h)).toEqual(before);
    expect((await listRun())[h.name]).toBe(true);
  });

  it("a foreign listener on its socket that never answers: the run does not hang on it, starts a fresh agent, and takes the socket back", async () => {
    const h = lab.hosts[1]!;
    expect((await listRun())[h.name]).toBe(true);
    // A root agent always listens in /run/postfleet (root logs in here: its socket is root's own).
    const socket = (await h.exec("ls /run/postfleet/*.sock")).stdout.trim();
    expect(socket).toMatch(/^\/run\/postfleet\/resident-0-as-0\.sock$/);
    // Root replaces the socket with a listener that accepts and says nothing (the resident agent exits once its socket is gone).
    const taken = await h.exec(["sh", "-c", `rm -f ${socket}; nohup node -e 'require("net").createServer(()=>{}).listen(process.argv[1])' ${socket} >/dev/null 2>&1 & for i in $(seq 150); do test -S ${socket} && exit 0; sleep 0.1; done; exit 1`]);
    expect(taken.exitCode, "the silent listener took the socket within 15 s").toBe(0);
    const { doc } = await residentCase(
      "a silent listener on the resident agent's socket",
      { faulted: [], inject: async () => undefined, exits: [0], repair: async () => void (await h.exec(`pkill -f 'createServer' || true`)) },
      { action: { kind: "edit", settings: {} }, argv: ["postmulti", "-l"] },
    );
    const host = doc.hosts.find((x: any) => x.host === h.name);
    expect(host.timings.resident).not.toBe(true);
    // Given up at the attach's 10 s hello timeout (the default hello wait is 30 s), then a fresh start.
    expect(host.durationMs).toBeLessThan(25_000);
    expect(await residents(h)).toHaveLength(1);
    expect((await listRun())[h.name]).toBe(true);
  });
});
