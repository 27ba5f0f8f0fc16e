// The resident agent (`--agent-persist`, 300 s by default), on lab hosts whose
// login user (ops) becomes root with a sudo password: the first run starts
// Node.js and leaves an agent behind; the next run reaches it through its socket without a
// Node.js start and gets the same answers; it serves nobody without the
// controller's secret, exits when idle, when the bundle it runs is not the one
// asked for, and is never left behind by a run with --agent-persist 0.
import { createHmac } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";

const PASSWORD = "res1dent-Become-pw";

describe("the resident agent", () => {
  let lab: Lab;
  let inv: string;
  /** The root agent's socket: in a directory only root can change, openable by the login user alone. */
  let SOCKET: string;
  const home = () => join(lab.dir, "home");
  const stateDir = () => join(lab.dir, "state");
  const run = (args: string[], persist?: number) =>
    postfleet(["-i", inv, ...(persist !== undefined ? ["--agent-persist", String(persist)] : []), ...args], {
      env: { HOME: home(), XDG_STATE_HOME: stateDir() },
    });
  /** Agents (Node.js processes; a resident agent names itself) on a host, by command line. */
  const nodes = async (i: number) =>
    (await lab.hosts[i]!.exec("ps -eo user=,args= | grep -E '[n]ode|[p]ostfleet-agent' || true")).stdout.trim().split("\n").filter(Boolean);
  const entries = () => readdirSync(join(stateDir(), "postfleet", "resident")).filter((f) => f.endsWith(".json"));
  /** Try the socket on the host as `user`, with this first line; prints what the agent answers. */
  const knock = (i: number, user: string, line: string) =>
    lab.hosts[i]!.exec([
      "su", user, "-s", "/bin/sh", "-c",
      `node -e 'const s=require("net").connect(process.argv[1]);s.on("error",e=>{console.log("ERR",e.code);});s.on("data",d=>process.stdout.write(d));s.on("end",()=>process.exit(0));s.write(process.argv[2]+"\\n");setTimeout(()=>process.exit(0),3000)' ${SOCKET} '${line}'`,
    ]);

  /** The agent wants the record's seed bound to the run's become password (HMAC-SHA256). */
  const bound = (seed: string) => createHmac("sha256", Buffer.from(seed, "hex")).update(PASSWORD).digest("hex");

  beforeAll(async () => {
    lab = await startLab(2, { user: "ops", sudoPassword: PASSWORD });
    SOCKET = `/run/postfleet/resident-${(await lab.hosts[0]!.exec("id -u ops")).stdout.trim()}-as-0.sock`;
    inv = join(lab.dir, "become.yml");
    writeFileSync(inv, readFileSync(lab.inventoryPath, "utf8").replace("  vars:\n", `  vars:\n    ansible_become: true\n    ansible_become_password: ${PASSWORD}\n`));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("is not left behind by a run with --agent-persist 0", async () => {
    const r = await run(["--json", "ping"], 0);
    expect(r.exitCode, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 500));
    for (const i of [0, 1]) {
      expect(await nodes(i)).toEqual([]);
      expect((await lab.hosts[i]!.exec(`test -e ${SOCKET}`)).exitCode).not.toBe(0);
    }
  });

  it("a first run (kept by default) leaves one root agent on a socket only the login user can open; the second reaches it without starting Node.js", async () => {
    const first = await run(["--json", "postmulti", "-l"]);
    expect(first.exitCode, first.stderr).toBe(0);
    const d1 = jsonOf(first);
    for (const h of d1.hosts) expect(h.timings.resident).toBeFalsy();
    await new Promise((res) => setTimeout(res, 1500));
    for (const i of [0, 1]) {
      const procs = await nodes(i);
      expect(procs, procs.join("\n")).toHaveLength(1);
      expect(procs[0]).toMatch(/^root +postfleet-agent \(resident\)/);
      expect((await lab.hosts[i]!.exec(`stat -c '%U %a %F' ${SOCKET}`)).stdout.trim()).toBe("ops 600 socket");
    }
    // The controller's record: one private file per host; the secret appears in no output.
    expect(entries()).toHaveLength(2);
    for (const f of entries()) {
      const p = join(stateDir(), "postfleet", "resident", f);
      expect(statSync(p).mode & 0o777).toBe(0o600);
      const secret = JSON.parse(readFileSync(p, "utf8")).secret as string;
      expect(first.stdout + first.stderr).not.toContain(secret);
    }

    const second = await run(["--json", "postmulti", "-l"], 60);
    expect(second.exitCode, second.stderr).toBe(0);
    const d2 = jsonOf(second);
    for (const h of d2.hosts) expect(h.timings.resident, h.host).toBe(true);
    expect(d2.hosts.map((h: any) => h.stdout)).toEqual(d1.hosts.map((h: any) => h.stdout));
    // Still the same single agent on each host: nothing new was started.
    for (const i of [0, 1]) expect(await nodes(i)).toHaveLength(1);
    const ping = jsonOf(await run(["--json", "ping"], 60));
    expect(ping.hosts.map((h: any) => [h.status, h.data.user, h.timings.resident])).toEqual([
      ["ok", "root", true],
      ["ok", "root", true],
    ]);
  });

  it("serves nobody without the secret: not another user, not the login user", async () => {
    const wrong = JSON.stringify({ op: "attach", secret: "0".repeat(64), sha256: "0".repeat(64) });
    const asOps = await knock(0, "ops", wrong);
    expect(asOps.stdout).toMatch(/"op":"error".*not authorized/);
    expect(asOps.stdout).not.toMatch(/"op":"hello"/);
    const asNobody = await knock(0, "nobody", wrong);
    expect(asNobody.stdout).toMatch(/ERR EACCES/);
    // Nor can the login user put a relay of their own in its place.
    const swap = await lab.hosts[0]!.exec(["su", "ops", "-s", "/bin/sh", "-c", `mv ${SOCKET} /tmp/moved.sock`]);
    expect(swap.exitCode).not.toBe(0);
    expect(swap.stderr).toMatch(/Permission denied/);
    // Still serving its controller.
    const r = jsonOf(await run(["--json", "-l", "mta01", "ping"], 60));
    expect(r.hosts[0].timings.resident).toBe(true);
  });

  it("lets in no run with another become password: that run starts a fresh agent, and sudo refuses the password", async () => {
    expect(jsonOf(await run(["--json", "-l", "mta01", "ping"])).hosts[0].timings.resident).toBe(true);
    const wrong = join(lab.dir, "wrong-pw.yml");
    writeFileSync(wrong, readFileSync(inv, "utf8").replace(PASSWORD, "not-the-password"));
    const r = await postfleet(["-i", wrong, "--json", "-l", "mta01", "ping"], { env: { HOME: home(), XDG_STATE_HOME: stateDir() } });
    expect(r.exitCode).toBe(2);
    const h = jsonOf(r).hosts[0];
    expect(h.timings?.resident).toBeFalsy();
    expect(h.error).toMatch(/sudo/i);
    // The right password gets root again (a fresh agent, whose resident agent replaces the old one).
    expect(jsonOf(await run(["--json", "ping"])).summary.ok).toBe(2);
    await new Promise((res) => setTimeout(res, 3500));
    expect(jsonOf(await run(["--json", "ping"])).hosts.map((x: any) => x.timings.resident)).toEqual([true, true]);
  });

  it("a record with the wrong secret is dropped: the run starts a fresh agent, which replaces the old one", async () => {
    for (const f of entries()) {
      const p = join(stateDir(), "postfleet", "resident", f);
      const e = JSON.parse(readFileSync(p, "utf8"));
      writeFileSync(p, JSON.stringify({ ...e, secret: "f".repeat(64) }));
      chmodSync(p, 0o600);
    }
    const r = jsonOf(await run(["--json", "ping"], 60));
    expect(r.summary.ok).toBe(2);
    for (const h of r.hosts) expect(h.timings.resident).toBeFalsy();
    await new Promise((res) => setTimeout(res, 3500)); // the old agent sees its socket replaced within 2 s
    for (const i of [0, 1]) expect(await nodes(i)).toHaveLength(1);
    const again = jsonOf(await run(["--json", "ping"], 60));
    for (const h of again.hosts) expect(h.timings.resident).toBe(true);
  });

  it("a run using it is not cut when another controller's agent takes its socket: it retires after that run", async () => {
    const other = join(lab.dir, "other-state");
    const using = run(["--json", "-l", "mta01", "postmulti", "-x", "sleep", "8"]);
    await new Promise((res) => setTimeout(res, 1500));
    // Another controller (no record of it): a fresh agent, which hands over to a new resident agent at its end.
    const taker = await postfleet(["-i", inv, "--json", "-l", "mta01", "ping"], { env: { HOME: home(), XDG_STATE_HOME: other } });
    expect(taker.exitCode, taker.stderr).toBe(0);
    expect(jsonOf(taker).hosts[0].timings.resident).toBeFalsy();
    const r = await using;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonOf(r).hosts[0].status).toMatch(/^(ok|changed)$/);
    expect(jsonOf(r).hosts[0].timings.resident).toBe(true);
    await new Promise((res) => setTimeout(res, 3500));
    expect(await nodes(0)).toHaveLength(1); // the new one
    // This controller's record now fails to attach; its next run starts afresh and takes the socket back.
    expect(jsonOf(await run(["--json", "-l", "mta01", "ping"])).hosts[0].timings.resident).toBeFalsy();
    await new Promise((res) => setTimeout(res, 3500));
    expect(await nodes(0)).toHaveLength(1);
    expect(jsonOf(await run(["--json", "-l", "mta01", "ping"])).hosts[0].timings.resident).toBe(true);
  });

  it("exits when asked for another bundle, and when idle", async () => {
    const p = join(stateDir(), "postfleet", "resident", entries()[0]!);
    const e = JSON.parse(readFileSync(p, "utf8"));
    const secret = bound(e.secret);
    const host = (await Promise.all([0, 1].map(async (i) => ((await knock(i, "ops", JSON.stringify({ op: "attach", secret, sha256: e.sha256 }))).stdout.includes('"hello"') ? i : -1)))).find((i) => i >= 0)!;
    const stale = await knock(host, "ops", JSON.stringify({ op: "attach", secret, sha256: "a".repeat(64) }));
    expect(stale.stdout).toMatch(/stale/);
    await new Promise((res) => setTimeout(res, 1000));
    expect(await nodes(host)).toEqual([]);
    expect((await lab.hosts[host]!.exec(`test -e ${SOCKET}`)).exitCode).not.toBe(0);

    // Idle: 5 s without a connection after the run, then gone. First a resident agent on both hosts
    // again, so that the 5 s run attaches on both and ends on both at once (a fresh start on one host
    // under load could outlast the other host's idle time before the check below).
    expect((await run(["--json", "ping"])).exitCode).toBe(0);
    await new Promise((res) => setTimeout(res, 1500));
    const short = await run(["--json", "ping"], 5);
    expect(short.exitCode).toBe(0);
    for (const h of jsonOf(short).hosts) expect(h.timings.resident).toBe(true);
    await new Promise((res) => setTimeout(res, 1000));
    for (const i of [0, 1]) expect(await nodes(i)).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 6000));
    for (const i of [0, 1]) {
      expect(await nodes(i)).toEqual([]);
      expect((await lab.hosts[i]!.exec(`test -e ${SOCKET}`)).exitCode).not.toBe(0);
    }
  });

  it("a run using it when `postfleet agent stop` ends it: that host fails at once and says why, no wait for the operation timeout", async () => {
    expect((await run(["--json", "-l", "mta01", "ping"], 600)).exitCode).toBe(0);
    const using = run(["--json", "-l", "mta01", "--op-timeout", "60", "postmulti", "-x", "sleep", "20"]);
    await new Promise((res) => setTimeout(res, 2000));
    const stop = await run(["--json", "-l", "mta01", "agent", "stop"]);
    expect(jsonOf(stop).hosts[0].status).toBe("changed");
    const r = await using;
    const h = jsonOf(r).hosts[0];
    expect(h.timings.resident).toBe(true);
    expect(h.status).toMatch(/^(failed|unreachable)$/);
    expect(h.error).toBe("resident agent on mta01 closed the connection (it was stopped, or exited)");
    // Functional, not a speed claim: a host left waiting would end at the 60 s operation timeout.
    expect(h.durationMs).toBeLessThan(30_000);
    await new Promise((res) => setTimeout(res, 500));
    expect(await nodes(0)).toEqual([]);
  });

  it("`postfleet agent stop` ends them now, and says so; a second stop finds none", async () => {
    expect((await run(["--json", "ping"], 600)).exitCode).toBe(0);
    await new Promise((res) => setTimeout(res, 1000));
    for (const i of [0, 1]) expect(await nodes(i)).toHaveLength(1);
    const stop = await run(["--json", "agent", "stop"]);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(jsonOf(stop).hosts.map((h: any) => [h.status, h.message])).toEqual([
      ["changed", "resident agent stopped"],
      ["changed", "resident agent stopped"],
    ]);
    await new Promise((res) => setTimeout(res, 500));
    for (const i of [0, 1]) expect(await nodes(i)).toEqual([]);
    const again = jsonOf(await run(["--json", "agent", "stop"]));
    expect(again.hosts.map((h: any) => h.status)).toEqual(["ok", "ok"]);
  });

  it("listens before the run that asked for it ends: a run that overlaps it and the runs right after it all reach it, on every host", async () => {
    await run(["--json", "agent", "stop"]);
    // The first run asks for a resident agent at its start, then works for a while: its resident
    // agent listens while it runs (it used to start only when that run ended).
    const firstStarted = Date.now();
    const first = run(["--json", "postmulti", "-x", "sleep", "10"]);
    for (const i of [0, 1]) {
      const listening = await lab.hosts[i]!.exec(["sh", "-c", `for i in $(seq 80); do test -S ${SOCKET} && exit 0; sleep 0.1; done; exit 1`]);
      expect(listening.exitCode, `mta0${i + 1}: no resident agent listening 8 s into the run that asked for it`).toBe(0);
    }
    const overlapping = jsonOf(await run(["--json", "ping"]));
    expect(overlapping.hosts.map((h: any) => [h.host, h.timings.resident])).toEqual([
      ["mta01", true],
      ["mta02", true],
    ]);
    const r = await first;
    const ended = Date.now();
    expect(r.exitCode, r.stderr).toBe(0);
    for (const h of jsonOf(r).hosts) expect(h.timings.resident).toBeFalsy();
    // Its records' start grace counts from the end of that run (10 s after they were first written):
    // a resident agent still starting then is waited for by the next run, not replaced.
    const dir = join(stateDir(), "postfleet", "resident");
    const stamps = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => (JSON.parse(readFileSync(join(dir, f), "utf8")) as { createdAt: number }).createdAt)
      .filter((t) => t > firstStarted);
    expect(stamps).toHaveLength(2);
    for (const t of stamps) expect(t).toBeGreaterThan(ended - 5_000);
    // Back to back, no pause: every run is served by the one resident agent on every host.
    for (let i = 0; i < 3; i++) {
      const d = jsonOf(await run(["--json", "postmulti", "-l"]));
      expect(d.hosts.map((h: any) => h.timings.resident), `run ${i + 1}`).toEqual([true, true]);
    }
    for (const i of [0, 1]) expect(await nodes(i)).toHaveLength(1);
  });

  it("does not idle out during a run longer than its idle time: it counts from the end of the run that started it", async () => {
    await run(["--json", "agent", "stop"]);
    // Idle time 8 s, a run of 14 s: counted from its start, the agent would be gone before the
    // run ends; counted from its end, the next run (a controller start away, seconds under load) finds it.
    const r = await run(["--json", "postmulti", "-x", "sleep", "14"], 8);
    expect(r.exitCode, r.stderr).toBe(0);
    const next = jsonOf(await run(["--json", "ping"], 8));
    expect(next.hosts.map((h: any) => h.timings.resident)).toEqual([true, true]);
  });
});
