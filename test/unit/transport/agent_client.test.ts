// AgentClient framing and failure handling against a scripted in-memory
// channel (the real-process paths are in test/integration/transport).
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { AgentClient, AgentRequestError } from "../../../src/transport/agent_client.js";
import { AgentProcessError, OperationTimeoutError } from "../../../src/transport/errors.js";
import { RemoteProcess } from "../../../src/transport/process.js";
import type { ClientChannel } from "ssh2";

/** A channel whose remote side is a function of the lines we write. */
function fakeChannel(answer: (req: { id: number; op: string; args?: string[] }, ch: FakeChannel) => void) {
  const ch = new EventEmitter() as FakeChannel;
  ch.stderr = new EventEmitter();
  ch.written = [];
  let buf = "";
  ch.write = (d: string | Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      ch.written.push(line);
      answer(JSON.parse(line), ch);
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
  write(d: string | Buffer): boolean;
  end(): FakeChannel;
  signal(s: string): boolean;
  close(): void;
  say(o: unknown): void;
  exit(code: number | null, signal?: string, stderr?: string): void;
}

const HELLO = { id: 0, op: "hello", protocol: 1, agentVersion: "t", nodeVersion: "18.19.0", uid: 0 };

function start(ch: FakeChannel, hello: unknown = HELLO, opts = {}) {
  const proc = new RemoteProcess(ch as unknown as ClientChannel);
  proc.forward();
  const client = AgentClient.start("mta01", proc, opts);
  setImmediate(() => ch.say(hello));
  return client;
}

describe("AgentClient", () => {
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

  it("refuses another protocol version", async () => {
    const ch = fakeChannel(() => {});
    await expect(start(ch, { ...HELLO, protocol: 99 })).rejects.toThrow(/speaks protocol 99, this controller speaks 1/);
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
    const client = await start(ch);
    await expect(client.request({ op: "facts" }, { timeoutMs: 20 })).rejects.toBeInstanceOf(OperationTimeoutError);
    const silent = fakeChannel(() => {});
    const proc = new RemoteProcess(silent as unknown as ClientChannel);
    proc.forward();
    await expect(AgentClient.start("mta02", proc, { helloTimeoutMs: 20 })).rejects.toThrow(/did not say hello/);
  });
});
