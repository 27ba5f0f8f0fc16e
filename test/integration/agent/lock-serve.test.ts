// The host lock (two agents on one host never interleave configuration
// edits), the long-running NDJSON mode, facts, and the wrapper API with the
// real postfix(1) driving three instances through the agent.
import { describe, expect, it } from "vitest";
import type { AgentResponse, FactsResponse, PostmultiResponse } from "../../../src/protocol/index.js";
import type { TestLabHost } from "../../support/lab.js";
import { AGENT, agentJson, mustSh, sh, withLabAgent } from "../../support/agent-on-host.js";
import { shellQuote } from "../../../src/transport/shell.js";

const LOCK = "/run/postfleet/agent.lock";

async function serve(host: TestLabHost, requests: object[]): Promise<AgentResponse[]> {
  const input = requests.map((r) => JSON.stringify(r)).join("\n");
  const out = await mustSh(host, `printf '%s\\n' ${shellQuote(input)} | node ${AGENT} --serve`);
  return out.trim().split("\n").map((l) => JSON.parse(l) as AgentResponse);
}

async function facts(host: TestLabHost): Promise<FactsResponse> {
  const [, f] = await serve(host, [{ id: 1, op: "facts", queues: true }]);
  return f as FactsResponse;
}

describe("agent lock, serve mode, facts and wrapper API", () => {
  let host: TestLabHost;
  withLabAgent({}, async (_lab, h) => {
    host = h;
    await mustSh(host, `node ${AGENT} -e init`);
  });

  it("makes a second agent wait for the lock, and fail with code lock after its timeout", async () => {
    // Agent A holds the lock while its -x command runs; it releases it at the end.
    await mustSh(host, `(node ${AGENT} --json -x sh -c 'touch /tmp/a-started; while [ ! -e /tmp/a-go ]; do sleep 0.1; done' > /tmp/a.json 2>&1 &)`);
    await mustSh(host, "for i in $(seq 1 300); do [ -e /tmp/a-started ] && exit 0; sleep 0.1; done; exit 1");
    const held = JSON.parse(await mustSh(host, `cat ${LOCK}`)) as { pid: number; what: string };
    expect(held.what).toMatch(/^postmulti -x sh -c/);
    expect(await mustSh(host, "stat -c '%U %a' /run/postfleet")).toBe("root 711\n");

    const tree = await mustSh(host, "cat /etc/postfix/main.cf");
    const busy = await agentJson(host, ["-I", "postfix-b", "-e", "create"], ["--lock-timeout=0.3"]);
    expect(busy.exitCode).toBe(1);
    expect(busy.error?.code).toBe("lock");
    expect(busy.error?.message).toContain(`held by pid ${held.pid}`);
    expect(await mustSh(host, "cat /etc/postfix/main.cf")).toBe(tree);

    // A waiting agent proceeds once A is done.
    const waiting = sh(host, `node ${AGENT} --json --lock-timeout=120 -I postfix-b -e create`);
    await mustSh(host, "sleep 1; touch /tmp/a-go");
    const b = JSON.parse((await waiting).stdout) as PostmultiResponse;
    expect(b).toMatchObject({ exitCode: 0, changed: true });
    const a = JSON.parse(await mustSh(host, "for i in $(seq 1 100); do [ -s /tmp/a.json ] && break; sleep 0.1; done; cat /tmp/a.json")) as PostmultiResponse;
    expect(a.exitCode).toBe(0);
    expect((await sh(host, `test -e ${LOCK}`)).exitCode).not.toBe(0);
  });

  it("serializes concurrent creates so no instance is lost from multi_instance_directories", async () => {
    const names = ["postfix-c1", "postfix-c2", "postfix-c3", "postfix-c4"];
    const runs = await Promise.all(names.map((n) => agentJson(host, ["-I", n, "-e", "create"], ["--lock-timeout=300"])));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    const dirs = (await mustSh(host, "postconf -h multi_instance_directories")).trim().split(/\s+/);
    expect(dirs.sort()).toEqual(["/etc/postfix-b", ...names.map((n) => `/etc/${n}`)].sort());
  });

  it("is not held up by the lock information a dead agent left", async () => {
    await mustSh(host, `echo '{"pid":999999,"start":"1","token":"x","since":"then","what":"crashed"}' > ${LOCK}`);
    const r = await agentJson(host, ["-e", "enable", "-i", "postfix-b"], ["--lock-timeout=5"]);
    expect(r).toMatchObject({ exitCode: 0, changed: true });
    expect((await sh(host, `test -e ${LOCK}`)).exitCode).not.toBe(0);
  });

  it("is free again at once when its holder is killed by SIGKILL (a kernel lock: nothing stale to remove)", async () => {
    // The holder's -x command outlives it (its own process group) and must not keep the lock.
    await mustSh(host, `(node ${AGENT} --json -i - -x sh -c 'echo $$ > /tmp/k-pid; exec sleep 300' > /dev/null 2>&1 &)`);
    await mustSh(host, "for i in $(seq 1 300); do [ -s /tmp/k-pid ] && exit 0; sleep 0.1; done; exit 1");
    const held = JSON.parse(await mustSh(host, `cat ${LOCK}`)) as { pid: number };
    const busy = await agentJson(host, ["-e", "enable", "-i", "postfix-b"], ["--lock-timeout=0.3"]);
    expect(busy.error?.code).toBe("lock");
    await mustSh(host, `kill -KILL ${held.pid}`);
    const r = await agentJson(host, ["-e", "enable", "-i", "postfix-b"], ["--lock-timeout=3"]);
    expect(r.exitCode).toBe(0);
    expect(r.error).toBeUndefined();
    expect((await sh(host, `test -e ${LOCK}`)).exitCode).not.toBe(0);
    await mustSh(host, "kill $(cat /tmp/k-pid)");
  });

  it("lets an agent run by the holder's own -x command edit without waiting for its parent", async () => {
    // The outer agent holds the lock while its -x command (another agent, as a wrapper would run it) edits.
    const r = await sh(host, `node ${AGENT} --lock-timeout=5 -i - -x node ${AGENT} --json --lock-timeout=5 -e enable -i postfix-b`);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ exitCode: 0 });
    expect(r.stdout).not.toContain('"code":"lock"');
    expect((await sh(host, `test -e ${LOCK}`)).exitCode).not.toBe(0);
  });

  it("answers several requests over one stream, in order, after a hello line", async () => {
    const replies = await serve(host, [
      { id: 1, op: "postmulti", args: ["-l", "-i", "postfix-b"] },
      { id: 2, op: "postmulti", args: ["-e", "disable", "-i", "postfix-b"], dryRun: true },
      { id: 3, op: "postmulti", args: ["-p", "-R", "start"] },
      { id: 4, op: "bogus" },
      { id: 41, op: "postmulti", args: ["-i", "-", "-x", "sleep", "30"], timeoutMs: 300 },
      { id: 5, op: "facts" },
      { id: 6, op: "shutdown" },
      { id: 7, op: "postmulti", args: ["-l"] },
    ]);
    expect(replies.map((r) => [r.id, r.op])).toEqual([
      [0, "hello"],
      [1, "postmulti"],
      [2, "postmulti"],
      [3, "postmulti"],
      [4, "error"],
      [41, "postmulti"],
      [5, "facts"],
      [6, "shutdown"],
    ]);
    expect(replies[0]).toMatchObject({ protocol: 2, uid: 0, nodeVersion: expect.stringMatching(/^18\./) });
    expect((replies[1] as PostmultiResponse).stdout).toBe("postfix-b       -               y         /etc/postfix-b\n");
    expect((replies[2] as PostmultiResponse).effects).toContainEqual(
      expect.objectContaining({ kind: "set-parameter", name: "multi_instance_enable", from: "yes", to: "no" }),
    );
    expect(await mustSh(host, "postconf -c /etc/postfix-b -h multi_instance_enable")).toBe("yes\n");
    expect((replies[3] as PostmultiResponse).error).toEqual({ message: "The '-p' and '-e' options preclude the use of '-R'", code: "usage" });
    const late = replies[5] as PostmultiResponse;
    expect(late.error?.code).toBe("timeout");
    expect(late.results[0]).toMatchObject({ configDirectory: "/etc/postfix", timedOut: true, exitCode: 1 });
  });

  it("reports facts: instances, running state from the master pid, queue counts", async () => {
    const before = await facts(host);
    expect(before.postfixVersion).toMatch(/^3\.7\./);
    expect(before).toMatchObject({ multiInstanceWrapper: "/usr/sbin/postmulti -p --", multiInstanceEnable: true, systemd: false });
    // The concurrent creates above ran in any order: the primary, postfix-b, then c1..c4 in some order.
    expect(before.instances.slice(0, 2).map((i) => i.name)).toEqual(["-", "postfix-b"]);
    expect(before.instances.map((i) => i.name).sort()).toEqual(["-", "postfix-b", "postfix-c1", "postfix-c2", "postfix-c3", "postfix-c4"]);
    expect(before.instances.every((i) => !i.running)).toBe(true);
    expect(before.instances[1]).toMatchObject({ queueDirectory: "/var/spool/postfix-b", dataDirectory: "/var/lib/postfix-b" });
    // With Postfix stopped, sendmail leaves the message in maildrop (new instances disallow local submission).
    await mustSh(host, `node ${AGENT} -i postfix-b -x postconf -e authorized_submit_users=static:anyone`);
    await mustSh(host, "printf 'Subject: t\\n\\nhi\\n' | sendmail root; printf 'Subject: t\\n\\nhi\\n' | MAIL_CONFIG=/etc/postfix-b sendmail root");
    const queued = await facts(host);
    const byName = new Map(queued.instances.map((i) => [i.name, i]));
    expect(byName.get("-")!.queues).toMatchObject({ maildrop: 1, deferred: 0, hold: 0 });
    expect(byName.get("postfix-b")!.queues).toMatchObject({ maildrop: 1 });
    expect(byName.get("postfix-c1")!.queues).toMatchObject({ maildrop: 0 });

    const started = await agentJson(host, ["-p", "start"]);
    expect(started.exitCode).toBe(0);
    // Disabled instances get "check" instead of "start".
    expect(started.results.map((r) => r.command?.[2])).toEqual(["start", "start", "check", "check", "check", "check"]);
    const running = await facts(host);
    expect(running.instances.map((i) => i.running)).toEqual([true, true, false, false, false, false]);
    const again = await agentJson(host, ["-p", "start"]);
    expect(again.results.slice(0, 2).map((r) => [r.changed, r.skipped])).toEqual([
      [false, "already running"],
      [false, "already running"],
    ]);
    const stopped = await agentJson(host, ["-p", "stop"]);
    expect(stopped.results.map((r) => [r.configDirectory, r.changed])).toEqual([
      ["/etc/postfix-b", true],
      ["/etc/postfix", true],
    ]);
    expect((await facts(host)).instances.every((i) => !i.running)).toBe(true);
  });

  it("drives all instances through the real postfix start/stop as multi_instance_wrapper", async () => {
    await mustSh(host, `postconf -e 'multi_instance_wrapper = /usr/bin/node ${AGENT} -p --'`);
    await mustSh(host, `node ${AGENT} -e enable -i postfix-c1`);
    const start = await sh(host, "postfix start");
    expect(start.exitCode).toBe(0);
    const up = await facts(host);
    expect(up.instances.filter((i) => i.running).map((i) => i.name)).toEqual(["-", "postfix-b", "postfix-c1"]);
    // status runs for all instances: the disabled ones are not running, so it fails.
    expect((await sh(host, "postfix status")).exitCode).toBe(1);
    expect((await sh(host, "postfix reload")).exitCode).toBe(0);
    expect((await sh(host, "postfix stop")).exitCode).toBe(0);
    expect((await facts(host)).instances.some((i) => i.running)).toBe(false);
  });
});
