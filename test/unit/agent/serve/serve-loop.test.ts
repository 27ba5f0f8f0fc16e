// The protocol-2 serve loop with fake handlers: ordering, cancel, timeout,
// the lock held across requests, bad lines. No Postfix involved.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  AgentResponse,
  CancelResponse,
  ErrorResponse,
  FactsResponse,
  LockResponse,
  PostmultiRequest,
  PostmultiResponse,
  UnlockResponse,
} from "../../../../src/protocol/index.js";
import { acquireLock } from "../../../../src/agent/system/host-lock.js";
import type { RequestContext } from "../../../../src/agent/serve/request-context.js";
import { spawnCommand } from "../../../../src/agent/system/spawn-command.js";
import { createServeLoop, type RequestHandlers, type ServeLoop } from "../../../../src/agent/serve/serve-loop.js";
import { processEnv } from "../../../../src/agent/system/process.js";
import { groupAlive, waitUntil } from "../../../support/process-groups.js";

const env = processEnv();

function postmultiAnswer(req: PostmultiRequest, extra: Partial<PostmultiResponse> = {}): PostmultiResponse {
  return { id: req.id, op: "postmulti", exitCode: 0, dryRun: false, changed: false, results: [], warnings: [], ...extra };
}



/** A loop on in-memory streams, with every answer line parsed as it comes. */
function harness(handlers: Partial<RequestHandlers>, lockDir: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  const lines: AgentResponse[] = [];
  let buf = "";
  output.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as AgentResponse);
      buf = buf.slice(nl + 1);
    }
  });
  const unused = async () => {
    throw new Error("handler not expected");
  };
  const loop: ServeLoop = createServeLoop({
    handlers: { postmulti: unused, facts: unused, config: unused, health: unused, service: unused, ...handlers } as RequestHandlers,
    input,
    output,
    env,
    lockTimeoutMs: 1000,
    lockDir,
    lockPerRequest: true,
    uid: 1234,
  });
  return {
    loop,
    lines,
    send: (o: object | string) => input.write((typeof o === "string" ? o : JSON.stringify(o)) + "\n"),
    end: () => input.end(),
    /** The answer with this id (waits for it). */
    async answer<T extends AgentResponse>(id: number, op?: string): Promise<T> {
      const find = () => lines.find((l) => l.id === id && (op === undefined || l.op === op));
      if (!(await waitUntil(() => find() !== undefined, 10_000))) throw new Error(`no answer ${id} in ${JSON.stringify(lines)}`);
      return find() as T;
    },
  };
}

/** A handler that runs until its request is cancelled, then answers with what it saw. */
function untilCancelled(started: number[]) {
  return (req: PostmultiRequest, ctx: RequestContext) =>
    new Promise<PostmultiResponse>((resolve) => {
      started.push(req.id);
      ctx.signal.addEventListener("abort", () => resolve(postmultiAnswer(req, { exitCode: 1, stdout: String(ctx.signal.reason) })));
    });
}

describe("serve loop", () => {
  let lockDir: string;
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "pf-serve-"));
    lockDir = join(root, "lock");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("says hello first, then runs requests one at a time in arrival order", async () => {
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const h = harness(
      {
        postmulti: async (req) => {
          active++;
          maxActive = Math.max(maxActive, active);
          order.push(req.id);
          await new Promise((r) => setTimeout(r, Number(req.args[0])));
          active--;
          return postmultiAnswer(req);
        },
        facts: async (req) => ({ id: req.id, op: "facts", postfixVersion: "3.7.11", nodeVersion: "x", agentVersion: "y", hostname: "h", instances: [] }),
      },
      lockDir,
    );
    h.send({ id: 1, op: "postmulti", args: ["150"] });
    h.send({ id: 2, op: "postmulti", args: ["10"] });
    h.send({ id: 3, op: "facts" });
    h.send({ id: 4, op: "postmulti", args: ["0"] });
    h.end();
    expect(await h.loop.done).toBe("eof");
    expect(h.lines.map((l) => [l.id, l.op])).toEqual([
      [0, "hello"],
      [1, "postmulti"],
      [2, "postmulti"],
      [3, "facts"],
      [4, "postmulti"],
    ]);
    expect(h.lines[0]).toMatchObject({ protocol: 2, uid: 1234 });
    expect(order).toEqual([1, 2, 4]);
    expect(maxActive).toBe(1);
    expect((h.lines[3] as FactsResponse).postfixVersion).toBe("3.7.11");
  });

  it("answers cancel at once: a queued request is answered cancelled without running", async () => {
    const started: number[] = [];
    const h = harness({ postmulti: untilCancelled(started) }, lockDir);
    h.send({ id: 1, op: "postmulti", args: ["a"] });
    h.send({ id: 2, op: "postmulti", args: ["b"], dryRun: true });
    h.send({ id: 3, op: "cancel", target: 2 });
    expect(await h.answer<CancelResponse>(3)).toEqual({ id: 3, op: "cancel", target: 2, found: true });
    const two = await h.answer<PostmultiResponse>(2);
    expect(two).toMatchObject({ op: "postmulti", exitCode: 1, dryRun: true, results: [], error: { code: "cancelled" } });
    expect(two.error!.message).toContain("before it started");
    // Request 1 is still running; cancel it too.
    expect(h.lines.some((l) => l.id === 1)).toBe(false);
    h.send({ id: 4, op: "cancel", target: 1 });
    const one = await h.answer<PostmultiResponse>(1);
    expect(one.error).toEqual({ code: "cancelled", message: "cancelled by request 4" });
    expect(one.stdout).toBe("cancelled by request 4"); // the handler saw the abort reason
    // The cancel answer overtakes the answer of the request it cancels.
    expect(h.lines.findIndex((l) => l.id === 4)).toBeLessThan(h.lines.findIndex((l) => l.id === 1));
    h.send({ id: 5, op: "cancel", target: 1 });
    expect(await h.answer<CancelResponse>(5)).toMatchObject({ found: false });
    expect(started).toEqual([1]);
    h.end();
    await h.loop.done;
  });

  it("cancel of a running command kills its whole process group and answers with the results so far", async () => {
    const pidFile = join(root, "pgid");
    const h = harness(
      {
        postmulti: async (req, ctx) => {
          const results = [];
          for (const name of ["first", "second", "third"]) {
            if (ctx.signal.aborted) break;
            const script = name === "second" ? `echo $$ > ${pidFile}; sleep 30 & sleep 30; wait` : "true";
            const r = await spawnCommand(["sh", "-c", script], { env: ctx.env, capture: true, signal: ctx.signal });
            results.push({ name, group: "-", enabled: true, configDirectory: `/etc/${name}`, primary: false, command: ["sh"], exitCode: r.exitCode, stdout: "", stderr: "", durationMs: r.durationMs, changed: !r.cancelled });
          }
          return postmultiAnswer(req, { results, exitCode: 1 });
        },
      },
      lockDir,
    );
    h.send({ id: 7, op: "postmulti", args: ["-p", "stop"] });
    expect(await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "")).toBe(true);
    const pgid = Number(readFileSync(pidFile, "utf8"));
    expect(groupAlive(pgid)).toBe(true);
    const t0 = Date.now();
    h.send({ id: 8, op: "cancel", target: 7 });
    const seven = await h.answer<PostmultiResponse>(7);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(seven.error?.code).toBe("cancelled");
    expect(seven.results.map((r) => [r.name, r.changed])).toEqual([
      ["first", true],
      ["second", false],
    ]);
    expect(await waitUntil(() => !groupAlive(pgid))).toBe(true);
    h.end();
    await h.loop.done;
  });

  it("a cancelled request answers code cancelled even when its handler reports another error", async () => {
    const h = harness(
      {
        postmulti: (req, ctx) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener("abort", () => resolve(postmultiAnswer(req, { exitCode: 1, error: { message: "Cannot parse /etc/postfix-a/main.cf file", code: "failed" } }))),
          ),
      },
      lockDir,
    );
    h.send({ id: 1, op: "postmulti", args: ["-l"] });
    h.send({ id: 2, op: "cancel", target: 1 });
    const one = await h.answer<PostmultiResponse>(1);
    expect(one.error).toEqual({ code: "cancelled", message: "cancelled by request 2 (Cannot parse /etc/postfix-a/main.cf file)" });
    h.end();
    await h.loop.done;
  });

  it("gives handlers the request's timeoutMs; a timed-out command's group dies", async () => {
    const pidFile = join(root, "pgid");
    const h = harness(
      {
        postmulti: async (req, ctx) => {
          const r = await spawnCommand(["sh", "-c", `echo $$ > ${pidFile}; sleep 30 & wait`], { env: ctx.env, capture: true, timeoutMs: ctx.timeoutMs, signal: ctx.signal });
          return postmultiAnswer(req, r.timedOut ? { exitCode: 1, error: { message: `timed out after ${ctx.timeoutMs} ms`, code: "timeout" } } : {});
        },
      },
      lockDir,
    );
    h.send({ id: 1, op: "postmulti", args: ["-x", "sleep"], timeoutMs: 200 });
    const one = await h.answer<PostmultiResponse>(1);
    expect(one.error).toEqual({ message: "timed out after 200 ms", code: "timeout" });
    expect(await waitUntil(() => !groupAlive(Number(readFileSync(pidFile, "utf8"))))).toBe(true);
    h.end();
    await h.loop.done;
  });

  it("holds the lock across requests: own requests do not wait, others do, until unlock", async () => {
    const lockFile = join(lockDir, "agent.lock");
    const seen: string[] = [];
    const h = harness(
      {
        postmulti: async (req, ctx) =>
          ctx.withHostLock("postmulti -e create", async () => {
            seen.push(JSON.parse(readFileSync(lockFile, "utf8")).what as string);
            return postmultiAnswer(req);
          }),
      },
      lockDir,
    );
    h.send({ id: 1, op: "lock", holder: "postfleet run site.yml by alice" });
    const lock = await h.answer<LockResponse>(1);
    expect(lock).toEqual({ id: 1, op: "lock", path: lockFile, holder: "postfleet run site.yml by alice" });
    const info = JSON.parse(readFileSync(lockFile, "utf8"));
    expect(info).toMatchObject({ pid: process.pid, what: "postfleet run site.yml by alice" });

    // Another taker (as another agent would) times out while the loop holds it.
    await expect(acquireLock("other agent", 100, { dir: lockDir })).rejects.toThrow(/held by pid/);
    h.send({ id: 2, op: "postmulti", args: ["-e", "create"], lockTimeoutMs: 50 });
    h.send({ id: 3, op: "postmulti", args: ["-e", "create"], lockTimeoutMs: 50 });
    expect((await h.answer<PostmultiResponse>(3)).error).toBeUndefined();
    expect(seen).toEqual(["postfleet run site.yml by alice", "postfleet run site.yml by alice"]);
    expect(h.loop.heldLock()?.holder).toBe("postfleet run site.yml by alice");

    h.send({ id: 4, op: "unlock" });
    expect(await h.answer<UnlockResponse>(4)).toEqual({ id: 4, op: "unlock", released: true });
    expect(existsSync(lockFile)).toBe(false);
    h.send({ id: 5, op: "unlock" });
    expect(await h.answer<UnlockResponse>(5)).toMatchObject({ released: false });
    // Without a held lock, a request's edit takes it for itself alone.
    h.send({ id: 6, op: "postmulti", args: ["-e", "create"] });
    await h.answer(6);
    expect(seen[2]).toBe("postmulti -e create");
    expect(existsSync(lockFile)).toBe(false);
    h.end();
    await h.loop.done;
  });

  it("a lock request that cannot get the lock answers error code lock", async () => {
    const other = await acquireLock("someone else", 1000, { dir: lockDir });
    const h = harness({}, lockDir);
    h.send({ id: 1, op: "lock", holder: "me", timeoutMs: 100 });
    const r = await h.answer<ErrorResponse>(1);
    expect(r.op).toBe("error");
    expect(r.error.code).toBe("lock");
    expect(r.error.message).toContain("someone else");
    other.release();
    h.end();
    await h.loop.done;
  });

  it("releases the lock at end of input, on shutdown and on stop", async () => {
    const lockFile = join(lockDir, "agent.lock");
    for (const how of ["eof", "shutdown", "stop"] as const) {
      const h = harness({}, lockDir);
      h.send({ id: 1, op: "lock", holder: how });
      await h.answer(1, "lock");
      expect(existsSync(lockFile)).toBe(true);
      if (how === "eof") h.end();
      else if (how === "shutdown") h.send({ id: 2, op: "shutdown" });
      else h.loop.stop("the agent got SIGTERM");
      expect(await h.loop.done).toBe(how === "stop" ? "stopped" : how);
      expect(existsSync(lockFile)).toBe(false);
    }
  });

  it("stop aborts the running request", async () => {
    const started: number[] = [];
    let reason: unknown;
    const h = harness(
      {
        postmulti: (req, ctx) => {
          ctx.signal.addEventListener("abort", () => (reason = ctx.signal.reason));
          return untilCancelled(started)(req, ctx);
        },
      },
      lockDir,
    );
    h.send({ id: 1, op: "postmulti", args: [] });
    await waitUntil(() => started.length === 1);
    h.loop.stop("the agent got SIGHUP");
    expect(await h.loop.done).toBe("stopped");
    expect(reason).toBe("the agent got SIGHUP");
    await h.loop.idle(); // the aborted handler has returned
    expect(h.lines.some((l) => l.id === 1)).toBe(false); // nothing is answered after stop
  });

  it("answers bad lines, unknown ops and bad fields with usage errors and goes on", async () => {
    const h = harness(
      {
        postmulti: async (req) => postmultiAnswer(req),
        facts: async () => {
          throw new Error("boom");
        },
      },
      lockDir,
    );
    h.send("not json");
    h.send("[1,2]");
    h.send({ id: 1, op: "bogus" });
    h.send({ id: 2, op: "postmulti", args: "-l" });
    h.send({ id: 3, op: "cancel" });
    h.send({ id: 4, op: "lock" });
    h.send({ id: 5, op: "facts" });
    h.send({ id: 6, op: "postmulti", args: ["-l"] });
    h.send({ id: 7, op: "shutdown" });
    h.send({ id: 8, op: "postmulti", args: ["-l"] });
    expect(await h.loop.done).toBe("shutdown");
    const errors = h.lines.filter((l): l is ErrorResponse => l.op === "error");
    expect(errors.map((e) => [e.id, e.error.code])).toEqual([
      [0, "usage"],
      [0, "usage"],
      [3, "usage"],
      [1, "usage"],
      [2, "usage"],
      [4, "usage"],
    ]);
    expect(errors[2]!.error.message).toBe("cancel request needs target: number");
    expect(errors[3]!.error.message).toBe("unknown op: bogus");
    // A handler that throws answers in its own shape with code internal.
    const five = await h.answer<FactsResponse>(5);
    expect(five).toMatchObject({ op: "facts", instances: [], error: { code: "internal" } });
    expect(five.error!.message).toContain("boom");
    expect((await h.answer<PostmultiResponse>(6)).exitCode).toBe(0);
    expect(h.lines.at(-1)).toEqual({ id: 7, op: "shutdown" });
    expect(h.lines.some((l) => l.id === 8)).toBe(false);
  });

  /** A handler whose command (sh + sleep, its own process group) runs until cancelled; its pgid is written to `pidFile`. */
  function sleeper(pidFile: string): Partial<RequestHandlers> {
    return {
      postmulti: async (req, ctx) => {
        const r = await spawnCommand(["sh", "-c", `echo $$ > ${pidFile}; sleep 30 & sleep 30; wait`], { env: ctx.env, capture: true, signal: ctx.signal });
        return postmultiAnswer(req, { exitCode: r.exitCode, stdout: String(ctx.signal.reason ?? "") });
      },
    };
  }
  /** A watched session (heartbeat with this deadline) holding the lock (request 1), with `sleeps` such requests from id 2 on, the first running. */
  async function watchedSleep(deadlineMs: number, sleeps: number) {
    const pidFile = join(root, "pgid");
    const h = harness(sleeper(pidFile), lockDir);
    h.send({ op: "heartbeat", deadlineMs });
    h.send({ id: 1, op: "lock", holder: "run" });
    await h.answer(1, "lock");
    for (let i = 0; i < sleeps; i++) h.send({ id: 2 + i, op: "postmulti", args: ["-x", "sleep"] });
    expect(await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== "")).toBe(true);
    return { h, pgid: Number(readFileSync(pidFile, "utf8")) };
  }

  it("a watched session (heartbeats came): the end of input cancels what runs and what waits, kills the command's group, releases the lock", async () => {
    const { h, pgid } = await watchedSleep(30_000, 2);
    const t0 = Date.now();
    h.end();
    expect(await h.loop.done).toBe("eof");
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(groupAlive(pgid)).toBe(false);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(false);
    // Both answered "cancelled" (the queued one without running), for whoever still reads.
    const two = h.lines.find((l) => l.id === 2) as PostmultiResponse;
    expect([two.error?.code, two.stdout]).toEqual(["cancelled", "the controller's input ended: it is gone"]);
    expect(h.lines.find((l) => l.id === 3)).toMatchObject({ error: { code: "cancelled" } });
  });

  it("an unwatched session (no heartbeat: a hand-driven --serve) still finishes its requests at the end of input", async () => {
    const h = harness({ postmulti: async (req) => (await new Promise((r) => setTimeout(r, 200)), postmultiAnswer(req)) }, lockDir);
    h.send({ id: 1, op: "postmulti", args: ["-l"] });
    h.send({ id: 2, op: "postmulti", args: ["-l"] });
    h.end();
    expect(await h.loop.done).toBe("eof");
    expect(h.lines.filter((l) => l.op === "postmulti").map((l) => [l.id, (l as PostmultiResponse).error])).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
  });

  it("a controller silent past the heartbeat's deadline is gone: the command's group dies, the lock is released, the loop ends", async () => {
    const { h, pgid } = await watchedSleep(400, 1);
    // Heartbeats (any line) keep it: 1.2 s, three times the deadline.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 150));
      h.send({ op: "heartbeat", deadlineMs: 400 });
    }
    expect(groupAlive(pgid)).toBe(true);
    expect(h.lines.some((l) => l.id === 2)).toBe(false);
    // Then silence, the input still open (a cut link sends no EOF).
    const t0 = Date.now();
    expect(await h.loop.done).toBe("silent");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(groupAlive(pgid)).toBe(false);
    expect(existsSync(join(lockDir, "agent.lock"))).toBe(false);
    expect(h.lines.find((l) => l.id === 2)).toMatchObject({ error: { code: "cancelled" }, stdout: "no word from the controller for 0.4 s: it is gone" });
  });

  it("input that comes just after the deadline (a host thawed from a freeze) still counts: the controller is not given up", async () => {
    const h = harness({}, lockDir);
    h.send({ op: "heartbeat", deadlineMs: 300 });
    await new Promise((r) => setTimeout(r, 500)); // past the deadline, before the second look
    h.send({ op: "heartbeat", deadlineMs: 300 });
    const ended = await Promise.race([h.loop.done, new Promise((r) => setTimeout(() => r("running"), 700))]);
    expect(ended).toBe("running");
    h.send({ id: 1, op: "shutdown" });
    expect(await h.loop.done).toBe("shutdown");
  });

  it("no deadline before the first heartbeat; a heartbeat without a usable deadline is a usage error", async () => {
    const h = harness({}, lockDir);
    await new Promise((r) => setTimeout(r, 300));
    h.send({ op: "heartbeat", deadlineMs: 5 });
    h.send({ op: "heartbeat" });
    h.send({ id: 1, op: "shutdown" });
    expect(await h.loop.done).toBe("shutdown");
    expect(h.lines.filter((l) => l.op === "error").map((l) => [l.id, (l as ErrorResponse).error.code])).toEqual([
      [0, "usage"],
      [0, "usage"],
    ]);
  });
});
