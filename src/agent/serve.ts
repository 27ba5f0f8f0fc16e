// Long-running mode: NDJSON requests on stdin, one response line each on
// stdout, in order; a hello line first. Requests are handled one at a time.
import { writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { PROTOCOL_VERSION, type AgentRequest, type AgentResponse } from "../protocol/index.js";
import { DEFAULT_LOCK_TIMEOUT_MS } from "./options.js";
import { factsResponse, postmultiResponse } from "./respond.js";
import { processEnv } from "./system.js";
import { AGENT_VERSION } from "./version.js";

function send(r: AgentResponse): void {
  const line = JSON.stringify(r) + "\n";
  const buf = Buffer.from(line);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      throw e;
    }
  }
}

export function handleRequest(req: AgentRequest, defaultLockTimeoutMs: number): AgentResponse {
  const env = processEnv();
  const noop = () => {};
  switch (req.op) {
    case "postmulti": {
      if (!Array.isArray(req.args) || !req.args.every((a) => typeof a === "string"))
        return { id: req.id, op: "error", error: { message: "postmulti request needs args: string[]", code: "usage" } };
      const ctx = {
        env,
        structured: true,
        dryRun: req.dryRun === true,
        timeoutMs: req.timeoutMs,
        lockTimeoutMs: req.lockTimeoutMs ?? defaultLockTimeoutMs,
        stderr: noop,
        stdout: noop,
      };
      return postmultiResponse(req.id, req.args, ctx);
    }
    case "facts":
      return factsResponse(req.id, { env, structured: true, dryRun: false, lockTimeoutMs: defaultLockTimeoutMs, stderr: noop, stdout: noop }, req.queues === true);
    case "shutdown":
      return { id: req.id, op: "shutdown" };
    default:
      return { id: (req as { id?: number }).id ?? 0, op: "error", error: { message: `unknown op: ${String((req as { op?: unknown }).op)}`, code: "usage" } };
  }
}

export function serve(lockTimeoutMs: number | null): void {
  send({ id: 0, op: "hello", protocol: PROTOCOL_VERSION, agentVersion: AGENT_VERSION, nodeVersion: process.versions.node, uid: process.geteuid?.() ?? -1 });
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  rl.on("line", (line) => {
    if (line.trim() === "") return;
    let req: AgentRequest;
    try {
      req = JSON.parse(line) as AgentRequest;
      if (typeof req !== "object" || req === null || typeof req.id !== "number") throw new Error("request must be an object with a numeric id");
    } catch (e) {
      send({ id: 0, op: "error", error: { message: `bad request line: ${(e as Error).message}`, code: "usage" } });
      return;
    }
    send(handleRequest(req, lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS));
    if (req.op === "shutdown") {
      rl.close();
      process.exit(0);
    }
  });
  rl.on("close", () => process.exit(0));
}
