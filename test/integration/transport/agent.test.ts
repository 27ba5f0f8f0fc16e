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
import { isolated, labTarget, rejection, removeFakeAgents, writeFakeAgent } from "../../support/transport.js";

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

  /** Counts the SSH execs (channels) a session opens. */
  const countExecs = (s: HostSession) => {
    const counter = { n: 0 };
    const orig = s.connection.openChannel.bind(s.connection);
    s.connection.openChannel = ((command: string, onOpen: never) => {
      counter.n++;
      return orig(command, onOpen);
    }) as typeof s.connection.openChannel;
    return counter;
  };
  /** Start the agent from `bundle`, close it, and say what startAgent found. */
  const startOnce = async (s: HostSession, bundle: string) => {
    const agent = await s.startAgent(bundle);
    await agent.close();
    return s.agentOnHost!;
  };

  it("one exec per start once the bundle is in place; uploaded into ~/.cache/postfleet (0700) by content hash, again only after it changed or was tampered with", async () => {
    const a = writeFakeAgent("a");
    const b = writeFakeAgent("b");
    const host = lab.hosts[0]!;
    const s1 = await open(0);
    const execs = countExecs(s1);
    const first = await startOnce(s1, a);
    expect(first).toMatchObject({ uploaded: true, replaced: false, sha256: sha256(a), remotePath: `/root/.cache/postfleet/agent-${sha256(a)}.cjs` });
    expect(first.node).toEqual({ path: "/usr/bin/node", version: expect.stringMatching(/^18\./) });
    expect(execs.n).toBe(3); // start: "upload needed"; upload; start
    expect((await host.exec(["stat", "-c", "%a %U", "/root/.cache/postfleet"])).stdout.trim()).toBe("700 root");
    expect((await host.exec(["sha256sum", first.remotePath])).stdout.split(" ")[0]).toBe(sha256(a));

    execs.n = 0;
    expect((await startOnce(s1, a)).uploaded).toBe(false);
    expect(execs.n).toBe(1); // the common case: one exec, no sha256sum, no second Node.js start
    const timings = s1.timings();
    expect(timings.connectMs).toBeGreaterThan(0);
    expect(timings.authMs).toBeGreaterThan(0);
    expect(timings.agentMs).toBeGreaterThan(0);
    expect(timings.helloMs).toBeGreaterThanOrEqual(0);
    expect(timings.uploaded).toBe(false);
    const s2 = await open(0);
    expect((await startOnce(s2, a)).uploaded).toBe(false);
    // A version unused for over a week is pruned when another one is uploaded; the one in use was touched.
    await host.exec(`touch -d '10 days ago' /root/.cache/postfleet/agent-old.cjs ${first.remotePath}`);
    expect((await startOnce(s2, a)).uploaded).toBe(false);
    const changed = await startOnce(s2, b);
    expect(changed.uploaded).toBe(true);
    expect(changed.remotePath).not.toBe(first.remotePath);
    expect((await startOnce(s2, b)).uploaded).toBe(false);

    await host.exec(["sh", "-c", 'echo "process.exit(0)" >> "$1"', "sh", first.remotePath]);
    const warnings: string[] = [];
    const s3 = await open(0, {}, (m) => warnings.push(m));
    const repaired = await startOnce(s3, a);
    expect(repaired).toMatchObject({ uploaded: true, replaced: true });
    expect(warnings.join("\n")).toMatch(/did not match its sha256 and was replaced/);
    expect((await host.exec(["sha256sum", first.remotePath])).stdout.split(" ")[0]).toBe(sha256(a));
    // No temporary files are left behind; the old version went, the one used (touched by the loader) stayed.
    expect((await host.exec("ls -A /root/.cache/postfleet")).stdout.trim().split("\n").sort()).toEqual(
      [`agent-${sha256(a)}.cjs`, `agent-${sha256(b)}.cjs`].sort(),
    );
  });

  it("runs exactly the bytes it verified: a file swapped on the host in a loop never runs", async () => {
    const good = writeFakeAgent("good");
    const s = await open(0);
    const path = (await startOnce(s, good)).remotePath;
    const evil = `${path}.evil`;
    // The evil copy says hello with agentVersion "evil"; a loop swaps it with the good one by rename.
    await lab.hosts[0]!.exec([
      "sh",
      "-c",
      `sed 's/FAKE_TAG || "fake"/FAKE_TAG || "evil"/' "$1" > "$2" && cp "$1" "$1.good" &&
       (end=$(($(date +%s) + 8)); while [ $(date +%s) -lt $end ]; do mv -f "$2" "$1"; cp "$1.good" "$2.tmp"; mv -f "$2.tmp" "$1"; cp "$1" "$2" 2>/dev/null; sed -i 's/FAKE_TAG || "fake"/FAKE_TAG || "evil"/' "$2"; done; cp "$1.good" "$1"; rm -f "$1.good" "$2") >/dev/null 2>&1 &`,
      "sh",
      path,
      evil,
    ]);
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      const agent = await s.startAgent(good).catch((e: Error) => e);
      if (agent instanceof Error) {
        seen.add(`error: ${agent.message.replace(/sha256 \([a-z]+\)/, "sha256")}`);
        continue;
      }
      seen.add(agent.hello.agentVersion);
      await agent.close();
    }
    expect(seen.has("evil")).toBe(false);
    expect(seen.has("fake")).toBe(true);
    await new Promise((r) => setTimeout(r, 8000));
  }, 120_000);

  it("refuses a cache whose parents another user could change: ~/.cache writable by others, or not the login user's", async () => {
    // ($HOME itself is checked too, but sshd's StrictModes already refuses a login there.)
    const host = lab.hosts[1]!;
    const bundle = writeFakeAgent("parents");
    await host.exec("mkdir -p /root/.cache && chmod 1777 /root/.cache");
    try {
      const s = await open(1);
      const e = await rejection(s.startAgent(bundle));
      expect(e).toBeInstanceOf(AgentPushError);
      expect(e.message).toMatch(/refusing the agent cache on mta02: \/root\/\.cache is writable by group or others \(mode 1777\)/);
      expect((await host.exec("ls -A /root/.cache")).stdout).toBe(""); // nothing created or uploaded there
    } finally {
      await host.exec("chmod 700 /root/.cache");
    }
    await host.exec("chown postfix /root/.cache");
    try {
      const s = await open(1);
      const e = await rejection(s.startAgent(bundle));
      expect(e).toBeInstanceOf(AgentPushError);
      expect(e.message).toMatch(/\/root\/\.cache is owned by uid \d+, not by the login user \(uid 0\)/);
      expect((await host.exec("ls -A /root/.cache")).stdout).toBe("");
    } finally {
      await host.exec("chown root /root/.cache");
    }
  });

  it("refuses an agent directory that is a symlink", async () => {
    const host = lab.hosts[1]!;
    await host.exec("mkdir -p /root/.cache /tmp/elsewhere && ln -s /tmp/elsewhere /root/.cache/postfleet");
    try {
      const s = await open(1);
      const e = await rejection(s.startAgent(writeFakeAgent("symlink")));
      expect(e).toBeInstanceOf(AgentPushError);
      expect(e.message).toMatch(/not a directory/);
      expect((await host.exec("ls -A /tmp/elsewhere")).stdout).toBe("");
    } finally {
      await host.exec("rm -f /root/.cache/postfleet");
    }
  });

  it("speaks NDJSON with the agent: hello, pipelined requests matched by id, timeouts, error responses, death with stderr", async () => {
    const s = await open(0);
    const client = writeFakeAgent("client");
    const agent = await s.startAgent(client);
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

    const again = await s.startAgent(client);
    await again.close();
    expect(again.alive).toBe(false);
  });

  it("an agent that speaks another protocol is uploaded again once, then refused clearly", async () => {
    const warnings: string[] = [];
    const s = await open(0, {}, (m) => warnings.push(m));
    const old = writeFakeAgent("old-protocol", PROTOCOL_VERSION - 1);
    const path = `/root/.cache/postfleet/agent-${sha256(old)}.cjs`;
    await startOnce(await open(0), writeFakeAgent("unrelated")); // the cache exists
    await lab.hosts[0]!.container.copyContentToContainer([{ content: readFileSync(old), target: path, mode: 0o600 }]);
    const inode = async () => (await lab.hosts[0]!.exec(["stat", "-c", "%i", path])).stdout.trim();
    const before = await inode();
    const e = await rejection(s.startAgent(old));
    expect(e).toBeInstanceOf(AgentVersionError);
    expect(e).toMatchObject({ agentProtocol: PROTOCOL_VERSION - 1, controllerProtocol: PROTOCOL_VERSION });
    expect(e.message).toMatch(new RegExp(`speaks protocol ${PROTOCOL_VERSION - 1} even after a fresh upload.*rebuild it with \`npm run build\``));
    expect(warnings).toEqual([`mta01: the agent speaks protocol ${PROTOCOL_VERSION - 1}, not ${PROTOCOL_VERSION}; uploading it again`]);
    expect(await inode()).not.toBe(before); // really uploaded again (temporary file renamed into place)
    // The session stays usable: the right bundle starts.
    const agent = await s.startAgent(writeFakeAgent("right-protocol"));
    expect(agent.hello.protocol).toBe(PROTOCOL_VERSION);
    await agent.close();
  });

  it("copes with a login shell that prints a banner on every command", async () => {
    const host = lab.hosts[1]!;
    await host.exec("cp /root/.bashrc /root/.bashrc.orig; sed -i '1i echo Welcome to this MTA' /root/.bashrc");
    try {
      const s = await open(1);
      expect((await s.exec(["true"])).stdout).toBe("Welcome to this MTA\n"); // the banner really shows
      const pushed = await startOnce(s, writeFakeAgent("banner"));
      expect(pushed.remotePath).toMatch(/^\/root\/\.cache\/postfleet\/agent-[0-9a-f]{64}\.cjs$/);
      expect(pushed.uploaded).toBe(true);
      const agent = await s.startAgent(writeFakeAgent("banner")); // same content: already there
      expect(s.agentOnHost!.uploaded).toBe(false);
      expect((await agent.request({ op: "postmulti", args: ["-l"] })).results[0]!.command).toEqual(["-l"]);
      await agent.close();
    } finally {
      await host.exec("mv /root/.bashrc.orig /root/.bashrc");
    }
  });

  it("needs no sha256sum: uploads and verifies where it is missing", async () => {
    const host = lab.hosts[1]!;
    const hidden = await host.exec("mv /usr/bin/sha256sum /usr/bin/sha256sum.hidden && ! command -v sha256sum");
    expect(hidden.exitCode).toBe(0);
    try {
      const bundle = writeFakeAgent("no-sha256sum");
      const s = await open(1);
      const pushed = await startOnce(s, bundle);
      expect(pushed).toMatchObject({ uploaded: true, sha256: sha256(bundle) });
      const agent = await s.startAgent(bundle);
      expect(s.agentOnHost!.uploaded).toBe(false); // the loader matched its hash
      expect(agent.hello.protocol).toBe(PROTOCOL_VERSION);
      await agent.close();
      await host.exec(["sh", "-c", 'echo "// evil" >> "$1"', "sh", pushed.remotePath]);
      const warnings: string[] = [];
      const s2 = await open(1, {}, (m) => warnings.push(m));
      expect((await startOnce(s2, bundle)).replaced).toBe(true);
      expect(warnings.join("\n")).toMatch(/did not match its sha256 and was replaced/);
    } finally {
      await host.exec("mv /usr/bin/sha256sum.hidden /usr/bin/sha256sum");
    }
  });

  it("reports a missing Node.js with a pointer to bootstrap, and bootstrap installs it with apt-get", async () => {
    const host = lab.hosts[1]!;
    const removed = await host.exec("dpkg -r --force-depends nodejs && ! command -v node");
    expect(removed.exitCode).toBe(0);
    const s = await open(1);
    const e = await rejection(s.startAgent(writeFakeAgent("nonode")));
    expect(e).toBeInstanceOf(NodeMissingError);
    expect(e.message).toMatch(/Node\.js ≥ 18 is required on mta02/);
    expect(e.message).toMatch(/postfleet bootstrap -l mta02/);
    const bogus = await open(1, { nodePath: "/opt/node/bin/node" });
    expect((await rejection(bogus.node())).message).toMatch(/postfleet_node=\/opt\/node\/bin\/node does not run/);
    expect((await rejection(bogus.startAgent(writeFakeAgent("nonode")))).message).toMatch(/postfleet_node=\/opt\/node\/bin\/node does not run/);

    const report = await s.bootstrap();
    expect(report).toMatchObject({ host: "mta02", before: null, packageManager: "apt-get", changed: true });
    expect(report.after.version).toMatch(/^18\./);
    expect(report.steps.map((x) => x.exitCode)).toEqual([0, 0]);
    const agent = await s.startAgent(writeFakeAgent("after-bootstrap"));
    expect(s.agentOnHost!.uploaded).toBe(true);
    expect(agent.hello.nodeVersion).toBe(report.after.version);
    await agent.close();
    expect((await s.bootstrap()).changed).toBe(false);
  }, 600_000);

  // Last: it stops host mta01.
  it("a host lost mid-run fails the running agent's requests and later commands as unreachable", async () => {
    const s = await open(0);
    const agent = await s.startAgent(writeFakeAgent("lost"));
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
