// Bundled alone (see request-harness.ts) and run on a lab host: reads one
// config/health/service request as JSON on stdin, runs its handler with a
// RequestContext like the serve loop's, prints the answer as one JSON line.
// `cancelAfterMs` (harness only) aborts the request as a cancel would.
import { readFileSync } from "node:fs";
import type { AgentRequest, AgentResponse } from "../../../src/protocol/index.js";
import { handleConfig } from "../../../src/agent/config-request.js";
import { handleHealth } from "../../../src/agent/health-request.js";
import { handleService } from "../../../src/agent/service-request.js";
import { acquireLock } from "../../../src/agent/lock.js";
import type { RequestContext } from "../../../src/agent/request-context.js";
import { processEnv } from "../../../src/agent/system.js";
import { usesSystemd } from "../../../src/agent/systemd.js";

async function main(): Promise<void> {
  const req = JSON.parse(readFileSync(0, "utf8")) as AgentRequest & { cancelAfterMs?: number; timeoutMs?: number; lockTimeoutMs?: number };
  const ac = new AbortController();
  if (req.cancelAfterMs) setTimeout(() => ac.abort(), req.cancelAfterMs).unref();
  const lockTimeoutMs = req.lockTimeoutMs ?? 60_000;
  const ctx: RequestContext = {
    env: processEnv(),
    signal: ac.signal,
    timeoutMs: req.op === "service" ? req.timeoutMs : undefined,
    lockTimeoutMs,
    async withHostLock(what, body) {
      if (process.geteuid?.() !== 0) return body();
      const lock = await acquireLock(what, lockTimeoutMs);
      try {
        return await body();
      } finally {
        lock.release();
      }
    },
  };
  let answer: AgentResponse | { op: "systemd"; systemd: boolean };
  if (req.op === "config") answer = await handleConfig(req, ctx);
  else if (req.op === "health") answer = await handleHealth(req, ctx);
  else if (req.op === "service") answer = await handleService(req, ctx);
  else if ((req.op as string) === "systemd") answer = { op: "systemd", systemd: await usesSystemd(ctx.env) };
  else throw new Error(`harness: unknown op ${req.op}`);
  process.stdout.write(JSON.stringify(answer) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`harness: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(2);
});
