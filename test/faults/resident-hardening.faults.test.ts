// The resident agent against its own login user and against a confused fleet
// on lab hosts whose login user (ops)
// becomes root with a sudo password:
//   - sudo rights revoked after the resident agent started: the next run is refused as sudo refuses it;
//   - refused callers do not keep it alive past its idle time;
//   - the login user cannot make a root agent listen where that user can later put a fake agent;
//   - /run/postfleet left 0700 (by an older lock) does not make every run leave an unreachable agent;
//   - two inventory hosts at the same address and port behind two jump hosts never share a secret.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentBundle } from "../support/agent-on-host.js";
import { jsonOf, postfleet } from "../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";

const PASSWORD = "hardening-Become-pw2";
const RESIDENT = "[p]ostfleet-agent .resident.";
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe("the resident agent, hardened", () => {
  let lab: Lab;
  let inv: string;
  const home = () => join(lab.dir, "home");
  const stateDir = () => join(lab.dir, "state");
  const run = (args: string[], o: { inventory?: string; persist?: number } = {}) =>
    postfleet(["-i", o.inventory ?? inv, "--json", "-T", "15", ...(o.persist !== undefined ? ["--agent-persist", String(o.persist)] : []), ...args], {
      env: { HOME: home(), XDG_STATE_HOME: stateDir() },
    });
  const residents = async (h: TestLabHost) => (await h.exec(`pgrep -f -- '${RESIDENT}' || true`)).stdout.split("\n").filter(Boolean);
  const resident = (doc: any) => Object.fromEntries(doc.hosts.map((h: any) => [h.host, h.timings?.resident === true]));
  const stopAll = async () => {
    await run(["agent", "stop"]);
    for (const h of lab.hosts) await h.exec(`pkill -f -- '${RESIDENT}' || true`);
  };

  beforeAll(async () => {
    lab = await startLab(2, { user: "ops", sudoPassword: PASSWORD });
    inv = join(lab.dir, "become.yml");
    writeFileSync(inv, readFileSync(lab.inventoryPath, "utf8").replace("  vars:\n", `  vars:\n    ansible_become: true\n    ansible_become_password: ${PASSWORD}\n`));
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it("sudo rights revoked since it started: the next run gets no root from it, and it exits", async () => {
    await stopAll();
    expect((await run(["report"])).exitCode).toBe(0);
    expect(resident(jsonOf(await run(["report"])))).toEqual({ mta01: true, mta02: true });
    const h = lab.hosts[0]!;
    await h.exec("rm /etc/sudoers.d/ops");
    try {
      const r = await run(["postmulti", "-x", "postconf", "-e", "revoked_write=yes"]);
      expect(r.exitCode).toBe(2);
      const doc = jsonOf(r);
      const mta01 = doc.hosts.find((x: any) => x.host === "mta01");
      expect(mta01.status).toBe("failed");
      expect(mta01.timings?.resident).toBeFalsy();
      expect(mta01.error).toMatch(/sudo/i);
      expect((await h.exec("postconf -n revoked_write")).stdout).toBe("");
      // The other host, whose rights stand, still reaches its resident agent.
      expect(doc.hosts.find((x: any) => x.host === "mta02").timings.resident).toBe(true);
      await sleep(500);
      expect(await residents(h)).toEqual([]);
    } finally {
      await h.exec(["sh", "-c", "echo 'ops ALL=(ALL) ALL' > /etc/sudoers.d/ops && chmod 440 /etc/sudoers.d/ops"]);
      await lab.hosts[1]!.exec("postconf -X revoked_write || true");
    }
  });

  it("refused callers do not keep it alive past its idle time", async () => {
    await stopAll();
    expect((await run(["-l", "mta01", "ping"], { persist: 3 })).exitCode).toBe(0);
    const h = lab.hosts[0]!;
    const uid = (await h.exec("id -u ops")).stdout.trim();
    const socket = `/run/postfleet/resident-${uid}-as-0.sock`;
    const wrong = JSON.stringify({ op: "attach", secret: "0".repeat(64), sha256: "0".repeat(64) });
    // A caller without the secret every 0.5 s for 6 s (twice the idle time), as the login user.
    const knock = await h.exec([
      "su", "ops", "-s", "/bin/sh", "-c",
      `node -e 'const net=require("net");let n=0,refused=0;const t=setInterval(()=>{const s=net.connect(process.argv[1]);s.on("error",()=>{});s.on("data",d=>{if(/not authorized/.test(d))refused++;});s.write(process.argv[2]+"\\n");if(++n>=12){clearInterval(t);setTimeout(()=>console.log("refused",refused),500);}},500)' ${socket} '${wrong}'`,
    ]);
    expect(knock.stdout).toMatch(/refused [1-9]/);
    await sleep(1000);
    expect(await residents(h)).toEqual([]);
  });

  it("a root agent never listens where the login user decides, even through a symlink to a root-owned directory", async () => {
    await stopAll();
    const h = lab.hosts[0]!;
    const bundle = agentBundle();
    const sha = (await import("node:crypto")).createHash("sha256").update(bundle).digest("hex");
    // A root-owned directory holding the bundle (root's own cache, say), and the login user's symlink to it.
    await h.exec("mkdir -p /srv/pf-root && chmod 755 /srv/pf-root");
    await h.container.copyContentToContainer([{ content: bundle, target: `/srv/pf-root/agent-${sha}.cjs` }]);
    await h.exec(["su", "ops", "-s", "/bin/sh", "-c", "mkdir -p ~/.cache && ln -sfn /srv/pf-root ~/.cache/pf-link"]);
    const uid = (await h.exec("id -u ops")).stdout.trim();
    const gid = (await h.exec("id -g ops")).stdout.trim();
    const persist = JSON.stringify({ id: 1, op: "persist", secret: randomBytes(32).toString("hex"), idleMs: 2000 });
    // The agent as sudo starts it for ops (sudo's own variables), asked to persist.
    const r = await h.exec([
      "sh", "-c",
      `printf '%s\\n' '${persist}' | env SUDO_UID=${uid} SUDO_GID=${gid} SUDO_USER=ops node /home/ops/.cache/pf-link/agent-${sha}.cjs --serve`,
    ]);
    const answer = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l: any) => l.id === 1);
    expect(answer, r.stdout + r.stderr).toBeDefined();
    expect(answer.socketPath).toBe(`/run/postfleet/resident-${uid}-as-0.sock`);
    await sleep(1500);
    expect((await h.exec(`stat -c '%U %a %F' ${answer.socketPath}`)).stdout.trim()).toBe("ops 600 socket");
    expect((await h.exec("ls -A /srv/pf-root")).stdout.trim()).toBe(`agent-${sha}.cjs`);
    await h.exec(`pkill -f -- '${RESIDENT}' || true; rm -rf /srv/pf-root /home/ops/.cache/pf-link`);
  });

  it("/run/postfleet left 0700 (an older agent's lock): it is made reachable and the next run reaches the resident agent", async () => {
    await stopAll();
    for (const h of lab.hosts) await h.exec("rm -rf /run/postfleet && mkdir -m 0700 /run/postfleet");
    expect(resident(jsonOf(await run(["ping"])))).toEqual({ mta01: false, mta02: false });
    expect(resident(jsonOf(await run(["ping"])))).toEqual({ mta01: true, mta02: true });
    for (const h of lab.hosts) {
      expect((await h.exec("stat -c '%U %a' /run/postfleet")).stdout.trim()).toBe("root 711");
      expect(await residents(h)).toHaveLength(1);
    }
  });

  it("two hosts at one address and port behind two jump hosts: each keeps its own record and secret", async () => {
    await stopAll();
    const [a, b] = lab.hosts as [TestLabHost, TestLabHost];
    // Each jump host resolves the same name to itself: the same address and port, two different hosts.
    for (const h of [a, b]) await h.exec(["sh", "-c", `echo '${h.internalAddress} mta-inner' >> /etc/hosts`]);
    const blob = (k: string) => k.split(" ").slice(0, 2).join(" ");
    const hostsYml = [a, b].map((h, i) => {
      const kh = join(lab.dir, `known_hosts.${i}`);
      writeFileSync(kh, `[127.0.0.1]:${h.port} ${blob(h.hostKey)}\nmta-inner ${blob(h.hostKey)}\n`);
      return [
        `    inner${i}:`,
        "      ansible_host: mta-inner",
        `      postfleet_known_hosts_file: ${kh}`,
        `      ansible_ssh_common_args: '-o ProxyJump=ops@127.0.0.1:${h.port}'`,
      ].join("\n");
    });
    const jumpInv = join(lab.dir, "two-jumps.yml");
    writeFileSync(
      jumpInv,
      [
        "all:",
        "  vars:",
        "    ansible_user: ops",
        `    ansible_ssh_private_key_file: ${lab.privateKeyPath}`,
        "    ansible_become: true",
        `    ansible_become_password: ${PASSWORD}`,
        "  hosts:",
        ...hostsYml,
        "",
      ].join("\n"),
    );
    const before = readdirSync(join(stateDir(), "postfleet", "resident")).length;
    const first = jsonOf(await run(["ping"], { inventory: jumpInv }));
    expect(first.summary.ok).toBe(2);
    // One record each: the same user, address, port and become, but other host keys.
    expect(readdirSync(join(stateDir(), "postfleet", "resident")).length).toBe(before + 2);
    const second = jsonOf(await run(["postmulti", "-x", "hostname"], { inventory: jumpInv }));
    expect(resident(second)).toEqual({ inner0: true, inner1: true });
    const names = Object.fromEntries(second.hosts.map((h: any) => [h.host, h.results?.[0]?.stdout?.trim()]));
    const real = await Promise.all([a, b].map(async (h) => (await h.exec("hostname")).stdout.trim()));
    expect(names).toEqual({ inner0: real[0], inner1: real[1] });
  });
});
