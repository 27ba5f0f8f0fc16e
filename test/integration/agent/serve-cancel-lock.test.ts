// Protocol 2 over a real SSH channel to the bundled agent in --serve mode:
// cancel of a running command (its process group dies, the answer says which
// instances were done), per-command timeouts, and the host lock held across
// requests, released when the channel closes.
import { describe, expect, it } from "vitest";
import type { CancelResponse, LockResponse, PostmultiResponse, UnlockResponse } from "../../../src/protocol/index.js";
import type { Lab, TestLabHost } from "../../support/lab.js";
import { AGENT, liveProcesses, mustSh, openServeChannel, sh, withLabAgent } from "../../support/agent-on-host.js";

const LOCK = "/run/postfleet/agent.lock";

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe("agent --serve over SSH: cancel, timeout, lock across requests", () => {
  let lab: Lab;
  let host: TestLabHost;
  withLabAgent({}, async (l, h) => {
    lab = l;
    host = h;
    await mustSh(host, `node ${AGENT} -e init && node ${AGENT} -I postfix-a -e create && node ${AGENT} -I postfix-b -e create`);
  });

  it("cancels a running postmulti -x: answer within seconds, sleep gone, results of the instances done", async () => {
    const ch = await openServeChannel(lab, host);
    try {
      // Primary and postfix-a finish at once; postfix-b sleeps.
      const script = 'echo "$multi_instance_name" >> /tmp/ran; [ "$multi_instance_name" = postfix-b ] && exec sleep 30; true';
      ch.send({ id: 1, op: "postmulti", args: ["-x", "sh", "-c", script] });
      expect(await waitFor(async () => (await liveProcesses(host, "sleep")).length === 1, 20_000)).toBe(true);
      const t0 = Date.now();
      ch.send({ id: 2, op: "cancel", target: 1 });
      expect(await ch.answer<CancelResponse>(2)).toEqual({ id: 2, op: "cancel", target: 1, found: true });
      const r = await ch.answer<PostmultiResponse>(1, "postmulti", 10_000);
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(r.error?.code).toBe("cancelled");
      expect(r.exitCode).toBe(1);
      expect(r.results.map((x) => [x.name, x.exitCode])).toEqual([
        ["-", 0],
        ["postfix-a", 0],
        ["postfix-b", 1],
      ]);
      expect(r.results[2]!.stderr).toContain("cancelled");
      expect(await liveProcesses(host, "sleep")).toEqual([]);
      // The agent goes on answering.
      ch.send({ id: 3, op: "postmulti", args: ["-l", "-i", "postfix-a"] });
      expect((await ch.answer<PostmultiResponse>(3)).exitCode).toBe(0);
    } finally {
      ch.close();
    }
  });

  it("kills a command after the request's timeoutMs with code timeout", async () => {
    const ch = await openServeChannel(lab, host);
    try {
      ch.send({ id: 1, op: "postmulti", args: ["-i", "postfix-a", "-x", "sh", "-c", "sleep 30 & sleep 30; wait"], timeoutMs: 500 });
      const r = await ch.answer<PostmultiResponse>(1, "postmulti", 10_000);
      expect(r.error?.code).toBe("timeout");
      expect(r.results[0]).toMatchObject({ name: "postfix-a", timedOut: true, exitCode: 1 });
      expect(await waitFor(async () => (await liveProcesses(host, "sleep")).length === 0, 3000)).toBe(true);
    } finally {
      ch.close();
    }
  });

  it("holds the lock across requests; another agent's postmulti -e waits until unlock", async () => {
    const ch = await openServeChannel(lab, host);
    try {
      ch.send({ id: 1, op: "lock", holder: "postfleet run rolling.yml by alice" });
      expect(await ch.answer<LockResponse>(1)).toEqual({ id: 1, op: "lock", path: LOCK, holder: "postfleet run rolling.yml by alice" });
      const info = JSON.parse(await mustSh(host, `cat ${LOCK}`)) as { what: string; pid: number };
      expect(info.what).toBe("postfleet run rolling.yml by alice");

      // Another agent on the host: must wait for the lock.
      await mustSh(host, `rm -f /tmp/other.json; (node ${AGENT} --json --lock-timeout=120 -e disable -i postfix-b > /tmp/other.json 2>&1 &)`);
      // Two requests of the lock holder run at once, without waiting for their own lock.
      ch.send({ id: 2, op: "postmulti", args: ["-e", "enable", "-i", "postfix-a"], lockTimeoutMs: 1000 });
      ch.send({ id: 3, op: "postmulti", args: ["-e", "enable", "-i", "postfix-b"], lockTimeoutMs: 1000 });
      expect(await ch.answer<PostmultiResponse>(2)).toMatchObject({ exitCode: 0, changed: true });
      expect(await ch.answer<PostmultiResponse>(3)).toMatchObject({ exitCode: 0, changed: true });
      await new Promise((r) => setTimeout(r, 1500));
      expect(await mustSh(host, "cat /tmp/other.json")).toBe(""); // still waiting
      expect(await mustSh(host, "postconf -c /etc/postfix-b -h multi_instance_enable")).toBe("yes\n");

      ch.send({ id: 4, op: "unlock" });
      expect(await ch.answer<UnlockResponse>(4)).toMatchObject({ released: true });
      expect(await waitFor(async () => (await sh(host, "test -s /tmp/other.json")).exitCode === 0, 20_000)).toBe(true);
      const other = JSON.parse(await mustSh(host, "cat /tmp/other.json")) as PostmultiResponse;
      expect(other).toMatchObject({ exitCode: 0, changed: true });
      expect(await mustSh(host, "postconf -c /etc/postfix-b -h multi_instance_enable")).toBe("no\n");
    } finally {
      ch.close();
    }
  });

  it("releases the lock when the SSH channel closes", async () => {
    const ch = await openServeChannel(lab, host);
    ch.send({ id: 1, op: "lock", holder: "a run that loses its connection" });
    await ch.answer<LockResponse>(1, "lock");
    expect((await sh(host, `test -e ${LOCK}`)).exitCode).toBe(0);
    const busy = await sh(host, `node ${AGENT} --json --lock-timeout=0.2 -e enable -i postfix-b`);
    expect(JSON.parse(busy.stdout).error.code).toBe("lock");
    ch.close();
    expect(await waitFor(async () => (await sh(host, `test -e ${LOCK}`)).exitCode !== 0, 10_000)).toBe(true);
    const after = JSON.parse((await sh(host, `node ${AGENT} --json --lock-timeout=5 -e enable -i postfix-b`)).stdout) as PostmultiResponse;
    expect(after).toMatchObject({ exitCode: 0, changed: true });
  });
});
