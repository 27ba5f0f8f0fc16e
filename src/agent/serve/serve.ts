// Long-running mode (`--serve`): the serve loop on stdin/stdout with the real
// handlers. The agent exits when the loop ends (shutdown, end of input, a
// controller silent past its heartbeat deadline, a closed stdout) or on
// SIGTERM/SIGHUP/SIGINT, releasing the host lock; after a `persist` request
// and an end of input or shutdown it first starts the resident agent.
import { constants } from "node:os";
import { Writable } from "node:stream";
import { KILL_GRACE_MS } from "../../protocol/index.js";
import { handleConfig } from "../requests/config.js";
import { handleDriftFacts } from "../requests/drift-facts.js";
import { handleHealth } from "../requests/health.js";
import type { InvocationContext } from "../postmulti/invocation-context.js";
import { releaseAllLocks } from "../system/host-lock.js";
import { factsResponse, postmultiResponse } from "./respond.js";
import type { RequestContext } from "./request-context.js";
import { createServeLoop, type RequestHandlers } from "./serve-loop.js";
import { enablePostconfReadCache } from "../postfix/postconf-cache.js";
import { handOverIfPlanned, persistHandler } from "./resident-handover.js";
import { handleService } from "../requests/service.js";
import { handleProbe } from "../requests/probe.js";
import { handleQueue } from "../requests/queue.js";
import { handleRevert } from "../requests/revert.js";
import { processEnv } from "../system/process.js";
import { writeAll } from "../system/write-all.js";
import { codeCacheHello, saveCodeCache } from "./code-cache.js";

/** A postmulti request runs as one structured postmulti invocation. */
function invocationContext(dryRun: boolean, ctx: RequestContext): InvocationContext {
  const noop = () => {};
  return {
    env: ctx.env,
    structured: true,
    dryRun,
    timeoutMs: ctx.timeoutMs,
    lockTimeoutMs: ctx.lockTimeoutMs,
    signal: ctx.signal,
    withHostLock: (what, body) => ctx.withHostLock(what, body),
    stderr: noop,
    stdout: noop,
  };
}

export const agentHandlers: RequestHandlers = {
  postmulti: (req, ctx) => postmultiResponse(req.id, req.args, invocationContext(req.dryRun === true, ctx)),
  facts: (req, ctx) => factsResponse(req.id, ctx.env, req.queues === true),
  config: handleConfig,
  health: handleHealth,
  service: handleService,
  "drift-facts": handleDriftFacts,
  probe: handleProbe,
  queue: handleQueue,
  revert: handleRevert,
};

/** Stdout as a stream whose writes are complete and synchronous (nothing lost at exit). */
function stdoutStream(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      callback(writeAll(1, chunk) ? null : Object.assign(new Error("stdout is closed"), { code: "EPIPE" }));
    },
  });
}

/** Run until the loop ends; resolves with the process's exit code. */
export async function serve(lockTimeoutMs: number): Promise<number> {
  process.on("exit", releaseAllLocks);
  enablePostconfReadCache();
  const handlers: RequestHandlers = { ...agentHandlers, persist: persistHandler(lockTimeoutMs) };
  const loop = createServeLoop({ handlers, input: process.stdin, output: stdoutStream(), env: processEnv(), lockTimeoutMs, hello: codeCacheHello(), afterFirstAnswer: saveCodeCache });
  let exitCode = 0;
  for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const)
    process.on(sig, () => {
      exitCode = 128 + constants.signals[sig];
      loop.stop(`the agent got ${sig}`);
    });
  const end = await loop.done;
  // Said on stderr, which the controller quotes if it ever hears of this agent again (a link back up).
  if (end === "silent") writeAll(2, "postfleet-agent: no word from the controller past its heartbeat deadline: what ran was cancelled and the host lock released\n");
  // The run ended normally: a resident agent takes over if the controller asked for one.
  if (end === "eof" || end === "shutdown") await handOverIfPlanned().catch(() => undefined);
  if (end === "stopped") {
    // Give the aborted request's command time to die (SIGKILL follows SIGTERM after KILL_GRACE_MS).
    const grace = new Promise<void>((r) => setTimeout(r, KILL_GRACE_MS + 500).unref());
    await Promise.race([loop.idle(), grace]);
  }
  return exitCode;
}
