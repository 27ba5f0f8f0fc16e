// AgentClient framing and failure handling against a scripted in-memory
// channel (the real-process paths are in test/integration/transport).
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { PROTOCOL_VERSION } from "../../../src/protocol/index.js";
import { AgentClient, AgentRequestError } from "../../../src/transport/agent-client.js";
import { heartbeatSettings } from "../../../src/transport/heartbeat.js";
import { AgentProcessError, AgentVersionError, OperationAbortedError, OperationTimeoutError } from "../../../src/transport/errors.js";
import { RemoteProcess } from "../../../src/transport/remote-process.js";
import type { ClientChannel } from "ssh2";

/** A channel whose remote side is a function of the lines we write. */
interface Req {
  id: number;
  op: string;
  args?: string[];
  target?: number;
}

function fakeChannel(answer: (req: Req, ch: FakeChannel) => void) {
  const ch = new EventEmitter() as FakeChannel;
  ch.stderr = new EventEmitter();
  ch.written = [];
  ch.heartbeats = [];
  let buf = "";
  ch.write = (d: string | Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const msg = JSON.parse(line);
      // Heartbeats (no id, never answered) are kept apart from the requests.
      if (msg.op === "heartbeat") {
        ch.heartbeats.push({ at: Date.now(), deadlineMs: msg.deadlineMs });
        continue;
      }
      ch.written.push(line);
      answer(msg, ch);
    }
    return true;
  };
  ch.end = () => ch;
  ch.signal = () => true;
  ch.close = () => ch.exit(null, "KILL");
  ch.say = (o: unknown) => ch.emit("data", Buffer.from(`${typeof o === "string" ? o : JSON.stringify(o)}\n`));
  ch.exit = (code: number | null, signal?: string, stderr = "") => {
    if (stderr) ch.stderr.emit("data", Buffer.from(stderr));
    ch.emit("exit", code, signal);
    ch.emit("close");
  };
  return ch;
}
interface FakeChannel extends EventEmitter {
  stderr: EventEmitter;
  written: string[];
  heartbeats: Array<{ at: number; deadlineMs: number }>;
  write(d: string | Buffer): boolean;
  end(): FakeChannel;
  signal(s: string): boolean;
  close(): void;
  say(o: unknown): void;
  exit(code: number | null, signal?: string, stderr?: string): void;
}

const HELLO = { id: 0, op: "hello", protocol: PROTOCOL_VERSION, agentVersion: "t", nodeVersion: "18.19.0", uid: 0 };

function start(ch: FakeChannel, hello: unknown = HELLO, opts: Parameters<typeof AgentClient.start>[2] = {}) {
  const proc = new RemoteProcess(ch as unknown as ClientChannel);
  proc.forward();
  const client = AgentClient.start("mta01", proc, opts);
  setImmediate(() => ch.say(hello));
  return client;
}

describe("AgentClient", () => {
  it("keeps a character split across two chunks whole, and reads a long answer sent in many small chunks", async () => {
    const ch = fakeChannel((req, c) => {
      if (req.op !== "postmulti") return;
      const line = Buffer.from(
        `${JSON.stringify({ id: req.id, op: "postmulti", exitCode: 0, dryRun: false, changed: false, warnings: [], results: [], stdout: `mx-é ${"x".repeat(300_000)}` })}\n`,
      );
      // 7-byte chunks: the two bytes of "é" land in two chunks somewhere, and 40,000+ chunks make a quadratic scan show.
      for (let i = 0; i < line.length; i += 7) c.emit("data", line.subarray(i, i + 7));
    });
    const client = await start(ch);
    const t0 = performance.now();
    const r = await client.request({ op: "postmulti", args: ["-l"] });
    expect(r.op === "postmulti" && r.stdout?.startsWith("mx-é x")).toBe(true);
    expect(r.op === "postmulti" && r.stdout?.length).toBe(300_005);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it("fails the host, clearly, when a line grows past the cap without its end", async () => {
    const ch = fakeChannel((req, c) => {
      if (req.op !== "postmulti") return;
      const chunk = Buffer.alloc(8 * 1024 * 1024, 0x61);
      for (let i = 0; i < 9; i++) c.emit("data", chunk);
    });
    const client = await start(ch);
    await expect(client.request({ op: "postmulti", args: ["-l"] })).rejects.toThrow(/line of more than 64 MB without its end; giving up on this host/);
  });

  it("matches pipelined answers by id even if they come out of order", async () => {
    const held: { id: number; args: string[] }[] = [];
    const ch = fakeChannel((req, c) => {
      if (req.op === "shutdown") return c.say({ id: req.id, op: "shutdown" });
      held.push({ id: req.id, args: req.args! });
      if (held.length === 2) for (const h of held.reverse()) c.say({ id: h.id, op: "postmulti", exitCode: 0, dryRun: false, changed: false, warnings: [], results: [], effects: [{ kind: "run", argv: h.args }] });
    });
    const client = await start(ch);
    const [a, b] = await Promise.all([client.request({ op: "postmulti", args: ["-l"] }), client.request({ op: "postmulti", args: ["-p", "status"] })]);
    expect(a.effects).toEqual([{ kind: "run", argv: ["-l"] }]);
    expect(b.effects).toEqual([{ kind: "run", argv: ["-p", "status"] }]);
    expect(ch.written.map((l) => JSON.parse(l).id)).toEqual([1, 2]);
  });

  it("ignores login-shell noise before the hello line", async () => {
    const ch = fakeChannel((req, c) => c.say({ id: req.id, op: "shutdown" }));
    const proc = new RemoteProcess(ch as unknown as ClientChannel);
    proc.forward();
    const started = AgentClient.start("mta01", proc);
    setImmediate(() => {
      ch.say("Welcome to mta01!");
      ch.say(HELLO);
    });
    const client = await started;
    expect(client.hello.agentVersion).toBe("t");
    expect((await client.request({ op: "shutdown" })).op).toBe("shutdown");
  });

  it("refuses another protocol version with AgentVersionError, and kills that agent", async () => {
    const ch = fakeChannel(() => {});
    let killed = false;
    ch.signal = (sig: string) => ((killed = sig === "KILL"), true);
    const e = await start(ch, { ...HELLO, protocol: 1 }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AgentVersionError);
    expect(e).toMatchObject({ agentProtocol: 1, controllerProtocol: PROTOCOL_VERSION, host: "mta01", code: "agent" });
    expect((e as Error).message).toBe(`agent on mta01 speaks protocol 1, this controller speaks ${PROTOCOL_VERSION}; push the matching agent`);
    expect(killed).toBe(true);
  });

  it("treats a non-JSON line as fatal and fails every pending request", async () => {
    const ch = fakeChannel((_req, c) => c.say("Segmentation fault"));
    const client = await start(ch);
    const e = await client.request({ op: "facts" }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(AgentProcessError);
    expect((e as Error).message).toMatch(/not JSON: Segmentation fault/);
    expect(client.alive).toBe(false);
  });

  it("reports the agent's exit with its stderr tail, and error responses as AgentRequestError", async () => {
    const ch = fakeChannel((req, c) => {
      if (req.op === "facts") c.say({ id: req.id, op: "error", error: { code: "internal", message: "no postconf" } });
      else c.exit(1, undefined, "agent: cannot read /etc/postfix/main.cf\n");
    });
    const client = await start(ch);
    const bad = await client.request({ op: "facts" }).catch((x: Error) => x);
    expect(bad).toBeInstanceOf(AgentRequestError);
    expect((bad as AgentRequestError).agentError).toEqual({ code: "internal", message: "no postconf" });
    const died = await client.request({ op: "postmulti", args: ["-l"] }).catch((x: Error) => x);
    expect((died as Error).message).toBe("agent on mta01 exited with code 1; stderr: agent: cannot read /etc/postfix/main.cf");
  });

  it("times out a request, and the hello when it never comes", async () => {
    const ch = fakeChannel(() => {});
    const client = await start(ch, HELLO, { cancelAnswerWaitMs: 20 });
    await expect(client.request({ op: "facts" }, { timeoutMs: 20 })).rejects.toBeInstanceOf(OperationTimeoutError);
    const silent = fakeChannel(() => {});
    const proc = new RemoteProcess(silent as unknown as ClientChannel);
    proc.forward();
    await expect(AgentClient.start("mta02", proc, { helloTimeoutMs: 20 })).rejects.toThrow(/did not say hello/);
  });

  it("a timeout cancels the request on the agent and resolves with its own partial answer", async () => {
    const partial = {
      op: "postmulti", exitCode: 1, dryRun: false, changed: true, warnings: [],
      error: { code: "timeout", message: "timed out after 0.05 s" },
      results: [{ name: "postfix-out", group: "mta", enabled: true, configDirectory: "/etc/postfix-out", primary: false, command: ["postfix", "stop"], exitCode: 0, stdout: "", stderr: "", durationMs: 3, changed: true }],
    };
    const ch = fakeChannel((req, c) => {
      if (req.op !== "cancel") return; // the postmulti runs "forever"
      // The cancel's answer overtakes the request it cancels, as in protocol 2.
      c.say({ id: req.id, op: "cancel", target: req.target, found: true });
      setTimeout(() => c.say({ ...partial, id: req.target }), 10);
    });
    const client = await start(ch, HELLO, { cancelAnswerWaitMs: 2000 });
    const r = await client.request({ op: "postmulti", args: ["-g", "mta", "-p", "stop"] }, { timeoutMs: 50 });
    expect(r.error).toEqual({ code: "timeout", message: "timed out after 0.05 s" });
    expect(r.results.map((x) => x.name)).toEqual(["postfix-out"]);
    expect(ch.written.map((l) => JSON.parse(l))).toEqual([
      { op: "postmulti", args: ["-g", "mta", "-p", "stop"], id: 1 },
      { op: "cancel", target: 1, id: 2 },
    ]);
    expect(client.alive).toBe(true);
  });

  it("an abort cancels the request and resolves with the 'cancelled' answer; other requests are unaffected", async () => {
    const ch = fakeChannel((req, c) => {
      if (req.op === "facts") return c.say({ id: req.id, op: "facts", postfixVersion: "3.7.11", nodeVersion: "18", agentVersion: "t", hostname: "mta01", instances: [] });
      if (req.op === "cancel") {
        c.say({ id: req.target, op: "postmulti", exitCode: 1, dryRun: false, changed: false, warnings: [], results: [], error: { code: "cancelled", message: "cancelled" } });
        c.say({ id: req.id, op: "cancel", target: req.target, found: true });
      }
    });
    const client = await start(ch);
    const ac = new AbortController();
    const running = client.request({ op: "postmulti", args: ["-p", "start"] }, { signal: ac.signal });
    const facts = await client.request({ op: "facts" });
    expect(facts.hostname).toBe("mta01");
    ac.abort();
    const r = await running;
    expect(r.error?.code).toBe("cancelled");
    expect(ch.written.map((l) => JSON.parse(l).op)).toEqual(["postmulti", "facts", "cancel"]);
    expect(JSON.parse(ch.written[2]!)).toMatchObject({ op: "cancel", target: 1 });
  });

  it("rejects with OperationAbortedError / OperationTimeoutError when no answer follows the cancel", async () => {
    const ch = fakeChannel((req, c) => {
      if (req.op === "cancel") c.say({ id: req.id, op: "cancel", target: req.target, found: false });
    });
    const client = await start(ch, HELLO, { cancelAnswerWaitMs: 30 });
    const ac = new AbortController();
    const aborted = client.request({ op: "health", instance: "-", checks: [{ kind: "master" }] }, { signal: ac.signal }).catch((x: Error) => x);
    ac.abort();
    const e = await aborted;
    expect(e).toBeInstanceOf(OperationAbortedError);
    expect((e as Error).message).toBe("agent request health on mta01 was aborted");
    const t = await client.request({ op: "config", instance: "-", read: true }, { timeoutMs: 20 }).catch((x: Error) => x);
    expect(t).toBeInstanceOf(OperationTimeoutError);
    expect((t as Error).message).toMatch(/agent request config on mta01 timed out after 0.02 s/);
    expect(ch.written.map((l) => JSON.parse(l).op)).toEqual(["health", "cancel", "config", "cancel"]);
    // An answer after the wait is dropped; the client stays usable.
    ch.say({ id: 1, op: "health", ok: true });
    expect(client.alive).toBe(true);
  });

  it("an already aborted signal sends nothing", async () => {
    const ch = fakeChannel(() => {});
    const client = await start(ch);
    const e = await client.request({ op: "lock", holder: "test" }, { signal: AbortSignal.abort() }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(OperationAbortedError);
    expect(ch.written).toEqual([]);
  });

  it("types and matches the protocol 2 ops by id, answers in any order", async () => {
    const answers: Record<string, (r: Req) => unknown> = {
      lock: (r) => ({ id: r.id, op: "lock", path: "/var/lib/postfleet/lock", holder: "run by alice" }),
      unlock: (r) => ({ id: r.id, op: "unlock", released: true }),
      service: (r) => ({ id: r.id, op: "service", instance: {}, action: "reload", via: "systemd", command: ["systemctl", "reload", "postfix@postfix-out"], exitCode: 0, stdout: "", stderr: "", durationMs: 1, changed: true, dryRun: false }),
    };
    const held: Req[] = [];
    const ch = fakeChannel((req, c) => {
      held.push(req);
      if (held.length === 3) for (const r of held.reverse()) c.say(answers[r.op]!(r));
    });
    const client = await start(ch);
    const [lock, service, unlock] = await Promise.all([
      client.request({ op: "lock", holder: "run by alice" }),
      client.request({ op: "service", instance: "postfix-out", action: "reload" }),
      client.request({ op: "unlock" }),
    ]);
    // Typed per op: these fields exist only on their own response types.
    expect(lock.path).toBe("/var/lib/postfleet/lock");
    expect(service.command).toEqual(["systemctl", "reload", "postfix@postfix-out"]);
    expect(unlock.released).toBe(true);
  });

  it("sends a heartbeat with the agent's deadline right after the hello and at every interval, until close or the agent's end", async () => {
    const ch = fakeChannel((req, c) => c.say({ id: req.id, op: "shutdown" }));
    const client = await start(ch, HELLO, { heartbeat: { intervalMs: 40, deadlineMs: 400 } });
    expect(ch.heartbeats).toHaveLength(1);
    expect(ch.heartbeats[0]!.deadlineMs).toBe(400);
    await new Promise((r) => setTimeout(r, 230));
    expect(ch.heartbeats.length).toBeGreaterThanOrEqual(4);
    await client.close(100);
    const n = ch.heartbeats.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(ch.heartbeats).toHaveLength(n);

    const ch2 = fakeChannel(() => {});
    await start(ch2, HELLO, { heartbeat: { intervalMs: 40, deadlineMs: 400 } });
    ch2.exit(0);
    await new Promise((r) => setTimeout(r, 100));
    const m = ch2.heartbeats.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(ch2.heartbeats).toHaveLength(m);
    expect(ch2.written).toEqual([]); // heartbeats never ask for an answer
  });

  it("all sessions share one heartbeat timer (thousands of hosts, one timer)", async () => {
    const spy = vi.spyOn(globalThis, "setInterval");
    try {
      const chs = Array.from({ length: 50 }, () => fakeChannel((req, c) => c.say({ id: req.id, op: "shutdown" })));
      const clients = await Promise.all(chs.map((ch) => start(ch, HELLO, { heartbeat: { intervalMs: 37, deadlineMs: 400 } })));
      await new Promise((r) => setTimeout(r, 120));
      expect(spy.mock.calls.filter((c) => c[1] === 37)).toHaveLength(1);
      for (const ch of chs) expect(ch.heartbeats.length).toBeGreaterThanOrEqual(3);
      await Promise.all(clients.map((c) => c.close(100)));
    } finally {
      spy.mockRestore();
    }
  });

  it("heartbeat settings: 5 s / 30 s unless POSTFLEET_AGENT_HEARTBEAT says otherwise; nonsense refused", () => {
    expect(heartbeatSettings({})).toEqual({ intervalMs: 5000, deadlineMs: 30_000 });
    expect(heartbeatSettings({ POSTFLEET_AGENT_HEARTBEAT: "500,3000" })).toEqual({ intervalMs: 500, deadlineMs: 3000 });
    for (const bad of ["500", "500,900", "0,3000", "a,b", "500,-3"]) expect(() => heartbeatSettings({ POSTFLEET_AGENT_HEARTBEAT: bad }), bad).toThrow(/POSTFLEET_AGENT_HEARTBEAT/);
  });
});
