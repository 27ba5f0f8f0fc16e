// `health` requests (protocol 2): probes of one instance, retried every
// intervalMs until they all pass or timeoutMs is up; a cancel or the
// request's timeout stops the retries and answers with the last attempt.
import type { HealthCheckResult, HealthRequest, HealthResponse } from "../../protocol/index.js";
import { invalidCheck, runCheck } from "./health-checks.js";
import type { RequestContext } from "../serve/request-context.js";
import { abortError, requestInstance, RequestError, toAgentError, unknownInstance } from "./request-instance.js";

export const DEFAULT_INTERVAL_MS = 500;

/** Resolves after ms, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export async function handleHealth(req: HealthRequest, ctx: RequestContext): Promise<HealthResponse> {
  const started = Date.now();
  const answer: HealthResponse = { id: req.id, op: "health", instance: unknownInstance(String(req.instance)), ok: false, checks: [], attempts: 0, durationMs: 0 };
  try {
    if (typeof req.instance !== "string") throw new RequestError("health request needs an instance name", "usage");
    if (!Array.isArray(req.checks) || req.checks.length === 0) throw new RequestError("health request needs at least one check", "usage");
    for (const c of req.checks) {
      const bad = invalidCheck(c);
      if (bad) throw new RequestError(bad, "usage");
    }
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    const timeoutMs = Math.max(0, req.timeoutMs ?? 0);
    const intervalMs = Math.max(10, req.intervalMs ?? DEFAULT_INTERVAL_MS);
    const deadline = started + timeoutMs;
    for (;;) {
      answer.attempts++;
      const left = deadline - Date.now();
      // Each probe/command gets what is left of the request's time (at least 1 s); checking once, probes get 5 s
      // and commands run until they end or the request is cancelled.
      const budget = { timeoutMs: timeoutMs > 0 ? Math.max(1000, left) : undefined };
      const results: HealthCheckResult[] = [];
      for (const c of req.checks) results.push(await runCheck(ctx, ri, c, budget));
      if (ctx.signal.aborted) {
        // The attempt was cut short: keep the previous complete attempt if there is one.
        if (answer.checks.length === 0) answer.checks = results;
        answer.error = abortError(ctx.signal, "health check");
        break;
      }
      answer.checks = results;
      answer.ok = results.every((r) => r.ok);
      if (answer.ok || Date.now() >= deadline) break;
      await pause(Math.min(intervalMs, Math.max(0, deadline - Date.now())), ctx.signal);
      if (ctx.signal.aborted) {
        answer.error = abortError(ctx.signal, "health check");
        break;
      }
    }
    if (answer.error) answer.ok = false;
  } catch (e) {
    answer.error = toAgentError(e);
  }
  answer.durationMs = Date.now() - started;
  return answer;
}
