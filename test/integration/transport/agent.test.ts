// Agent push (content-addressed, uploaded only when missing or altered,
// verified before it runs), the NDJSON agent client, and Node.js detection
// with `bootstrap` installing it through apt on a real lab host.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../../../src/protocol/index.js";
import {
  AgentProcessError,
  AgentVersionError,
  AgentPushError,
  AgentRequestError,
  NodeMissingError,
  UnreachableError,
  openHost,
  type HostSession,
} from "../../../src/transport/index.js";
import { startLab, type Lab } from "../../support/lab.js";
import { isolated, labTarget, rejection, removeFakeAgents, writeFakeAgent } from "./fixtures.js";

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("agent push and agent client", () => {
  let lab: Lab;
  const sessions: HostSession[] = [];
  const open = async (i: number, extra = {}, warn?: (m: string) => void) => {
    const s = await openHost(labTarget(lab, i, extra), { ...isolated, ...(warn ? { warn } : {}) });
    sessions.push(s);
    return s;
  };
  beforeAll(async () => {
    lab = await startLab(2);
  });
  afterAll(async () => {
    removeFakeAgents();
    await Promise.allSettled(sessions.map((s) => s.close()));
    await lab?.stop();
  });

  it("uploads the bundle once into ~/.cache/postfleet (0700) by content hash, again only after it changed or was tampered with", async () => {
    const a = writeFakeAgent("a");
    const b = writeFakeAgent("b");
    const host = lab.hosts[0]!;
    const s1 = await open(0);
    const first = await s1.ensureAgent(a);
    expect(first).toMatchObject({ uploaded: true, replaced: false, sha256: sha256(a), remotePath: `/root/.cache/postfleet/agent-${sha256(a)}.cjs` });
    expect(first.node.version).toMatch(/^18\./);
    expect((await host.exec(["stat", "-c", "%a %U", "/root/.cache/postfleet"])).stdout.trim()).toBe("700 root");
    expect((await host.exec(["sha256sum", first.remotePath])).stdout.split(" ")[0]).toBe(sha256(a));

    expect((await s1.ensureAgent(a)).uploaded).toBe(false);
    const s2 = await open(0);
    expect((await s2.ensureAgent(a)).uploaded).toBe(false);
    // A version unused for over a week is pruned when another one is uploaded.
    await host.exec("touch -d '10 days ago' /root/.cache/postfleet/agent-old.cjs");
    const changed = await s2.ensureAgent(b);
    expect(changed.uploaded).toBe(true);
    expect(changed.remotePath).not.toBe(first.remotePath);
    expect((await s2.ensureAgent(b)).uploaded).toBe(false);

    await host.exec(["sh", "-c", 'echo "process.exit(0)" >> "$1"', "sh", first.remotePath]);
    const warnings: string[] = [];
    const s3 = await open(0, {}, (m) => warnings.push(m));
    const repaired = await s3.ensureAgent(a);
    expect(repaired).toMatchObject({ uploaded: true, replaced: true });
    expect(warnings.join("\n")).toMatch(/did not match its sha256 and was replaced/);
    expect((await host.exec(["sha256sum", first.remotePath])).stdout.split(" ")[0]).toBe(sha256(a));
    // No temporary files are left behind.
    expect((await host.exec("ls -A /root/.cache/postfleet")).stdout.trim().split("\n").sort()).toEqual(
      [`agent-${sha256(a)}.cjs`, `agent-${sha256(b)}.cjs`].sort(),
    );
  });

  it("refuses to run an agent file changed after it was verified", async () => {
    const a = writeFakeAgent("tamper-late");
    const s = await open(0);
    const pushed = await s.ensureAgent(a);
    await lab.hosts[0]!.exec(["sh", "-c", 'echo "// evil" >> "$1"', "sh", pushed.remotePath]);
    const e = await rejection(s.startAgent());
    expect(e).toBeInstanceOf(AgentProcessError);
    expect(e.message).toMatch(/does not match its sha256/);
  });

  it("refuses an agent directory that is a symlink", async () => {
    const host = lab.hosts[1]!;
    await host.exec("mkdir -p /root/.cache /tmp/elsewhere && ln -s /tmp/elsewhere /root/.cache/postfleet");
    try {
      const s = await open(1);
      const e = await rejection(s.ensureAgent(writeFakeAgent("symlink")));
      expect(e).toBeInstanceOf(AgentPushError);
      expect(e.message).toMatch(/not a directory/);
      expect((await host.exec("ls -A /tmp/elsewhere")).stdout).toBe("");
    } finally {
      await host.exec("rm -f /root/.cache/postfleet");
    }
  });

  it("speaks NDJSON with the agent: hello, pipelined requests matched by id, timeouts, error responses, death with stderr", async () => {
    const s = await open(0);
    await s.ensureAgent(writeFakeAgent("client"));
    const agent = await s.startAgent();
    expect(agent.hello).toMatchObject({ op: "hello", protocol: PROTOCOL_VERSION, uid: 0 });
    const argsList = [["-l"], ["-i", "postfix-out; rm -rf /", "-p", "status"], ["-g", "$(id)", "-x", "postconf"]];
    const answers = await Promise.all(argsList.map((args) => agent.request({ op: "postmulti", args })));
    expect(answers.map((r) => r.results[0]!.command)).toEqual(argsList);
    const facts = await agent.request({ op: "facts" });
    expect(facts.op).toBe("facts");

    const bad = await rejection(agent.request({ op: "postmulti", args: ["bad"] }));
    expect(bad).toBeInstanceOf(AgentRequestError);
    expect((bad as AgentRequestError).agentError.code).toBe("usage");
    // A timeout cancels the request on the agent, whose own answer (partial results) comes back.
    const slow = await agent.request({ op: "postmulti", args: ["slow"] }, { timeoutMs: 300 });
    expect(slow.error).toEqual({ code: "cancelled", message: "cancelled by the controller" });
    expect(slow.results.map((r) => r.command)).toEqual([["first-done"]]);
    // An abort does the same; requests sent meanwhile are answered (out of order, by id).
    const ac = new AbortController();
    const aborted = agent.request({ op: "postmulti", args: ["slow"] }, { signal: ac.signal });
    expect((await agent.request({ op: "postmulti", args: ["-p", "status"] })).results[0]!.command).toEqual(["-p", "status"]);
    ac.abort();
    expect((await aborted).error?.code).toBe("cancelled");
    expect((await agent.request({ op: "postmulti", args: ["-l"] })).results[0]!.command).toEqual(["-l"]);

    const died = await rejection(agent.request({ op: "postmulti", args: ["die"] }));
    expect(died).toBeInstanceOf(AgentProcessError);
    expect(died.message).toMatch(/exited with code 3/);
    expect(died.message).toContain("fake agent: something broke");
    expect(agent.alive).toBe(false);
    await expect(agent.request({ op: "facts" })).rejects.toBeInstanceOf(AgentProcessError);
    await agent.close();

    const again = await s.startAgent();
    await again.close();
    expect(again.alive).toBe(false);
  });

  it("an agent that speaks another protocol is uploaded again once, then refused clearly", async () => {
    const warnings: string[] = [];
    const s = await open(0, {}, (m) => warnings.push(m));
    const pushed = await s.ensureAgent(writeFakeAgent("old-protocol", PROTOCOL_VERSION - 1));
    const inode = async () => (await lab.hosts[0]!.exec(["stat", "-c", "%i", pushed.remotePath])).stdout.trim();
    const before = await inode();
    const e = await rejection(s.startAgent());
    expect(e).toBeInstanceOf(AgentVersionError);
    expect(e).toMatchObject({ agentProtocol: PROTOCOL_VERSION - 1, controllerProtocol: PROTOCOL_VERSION });
    expect(e.message).toMatch(new RegExp(`speaks protocol ${PROTOCOL_VERSION - 1} even after a fresh upload.*rebuild it with \`npm run build\``));
    expect(warnings).toEqual([`mta01: the agent speaks protocol ${PROTOCOL_VERSION - 1}, not ${PROTOCOL_VERSION}; uploading it again`]);
    expect(await inode()).not.toBe(before); // really uploaded again (temporary file renamed into place)
    // The session stays usable: the right bundle starts.
    await s.ensureAgent(writeFakeAgent("right-protocol"));
    const agent = await s.startAgent();
    expect(agent.hello.protocol).toBe(PROTOCOL_VERSION);
    await agent.close();
  });

  it("copes with a login shell that prints a banner on every command", async () => {
    const host = lab.hosts[1]!;
    await host.exec("cp /root/.bashrc /root/.bashrc.orig; sed -i '1i echo Welcome to this MTA' /root/.bashrc");
    try {
      const s = await open(1);
      expect((await s.exec(["true"])).stdout).toBe("Welcome to this MTA\n"); // the banner really shows
      const pushed = await s.ensureAgent(writeFakeAgent("banner"));
      expect(pushed.remotePath).toMatch(/^\/root\/\.cache\/postfleet\/agent-[0-9a-f]{64}\.cjs$/);
      expect((await s.ensureAgent(writeFakeAgent("banner"))).uploaded).toBe(false); // same content: already there
      const agent = await s.startAgent();
      expect((await agent.request({ op: "postmulti", args: ["-l"] })).results[0]!.command).toEqual(["-l"]);
      await agent.close();
    } finally {
      await host.exec("mv /root/.bashrc.orig /root/.bashrc");
    }
  });

  it("hashes with Node.js where sha256sum is missing, when pushing and before running", async () => {
    const host = lab.hosts[1]!;
    const hidden = await host.exec("mv /usr/bin/sha256sum /usr/bin/sha256sum.hidden && ! command -v sha256sum");
    expect(hidden.exitCode).toBe(0);
    try {
      const bundle = writeFakeAgent("no-sha256sum");
      const s = await open(1);
      const pushed = await s.ensureAgent(bundle);
      expect(pushed).toMatchObject({ uploaded: true, sha256: sha256(bundle) });
      expect((await s.ensureAgent(bundle)).uploaded).toBe(false); // the check matched its hash too
      const agent = await s.startAgent();
      expect(agent.hello.protocol).toBe(PROTOCOL_VERSION);
      await agent.close();
      await host.exec(["sh", "-c", 'echo "// evil" >> "$1"', "sh", pushed.remotePath]);
      expect((await rejection(s.startAgent())).message).toMatch(/does not match its sha256/);
    } finally {
      await host.exec("mv /usr/bin/sha256sum.hidden /usr/bin/sha256sum");
    }
  });

  it("reports a missing Node.js with a pointer to bootstrap, and bootstrap installs it with apt-get", async () => {
    const host = lab.hosts[1]!;
    const removed = await host.exec("dpkg -r --force-depends nodejs && ! command -v node");
    expect(removed.exitCode).toBe(0);
    const s = await open(1);
    const e = await rejection(s.ensureAgent(writeFakeAgent("nonode")));
    expect(e).toBeInstanceOf(NodeMissingError);
    expect(e.message).toMatch(/Node\.js ≥ 18 is required on mta02/);
    expect(e.message).toMatch(/postfleet bootstrap -l mta02/);
    const bogus = await open(1, { nodePath: "/opt/node/bin/node" });
    expect((await rejection(bogus.node())).message).toMatch(/postfleet_node=\/opt\/node\/bin\/node does not run/);

    const report = await s.bootstrap();
    expect(report).toMatchObject({ host: "mta02", before: null, packageManager: "apt-get", changed: true });
    expect(report.after.version).toMatch(/^18\./);
    expect(report.steps.map((x) => x.exitCode)).toEqual([0, 0]);
    const pushed = await s.ensureAgent(writeFakeAgent("after-bootstrap"));
    expect(pushed.uploaded).toBe(true);
    const agent = await s.startAgent();
    expect(agent.hello.nodeVersion).toBe(report.after.version);
    await agent.close();
    expect((await s.bootstrap()).changed).toBe(false);
  }, 600_000);

  // Last: it stops host mta01.
  it("a host lost mid-run fails the running agent's requests and later commands as unreachable", async () => {
    const s = await open(0);
    await s.ensureAgent(writeFakeAgent("lost"));
    const agent = await s.startAgent();
    const pending = agent.request({ op: "postmulti", args: ["slow"] }).catch((e: Error) => e);
    const running = s.exec(["sleep", "60"]).catch((e: Error) => e);
    await lab.hosts[0]!.container.stop({ timeout: 1 });
    expect(await running).toBeInstanceOf(UnreachableError);
    const lost = await pending;
    expect(lost).toBeInstanceOf(UnreachableError);
    expect((lost as Error).message).toMatch(/connection to mta01 was lost while the agent was running/);
    await expect(s.exec(["true"])).rejects.toBeInstanceOf(UnreachableError);
  });
});
