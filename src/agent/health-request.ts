// `health` requests (protocol 2): probes of one instance, retried until they pass or time is up.
import type { HealthRequest, HealthResponse } from "../protocol/index.js";
import type { RequestContext } from "./request-context.js";

export async function handleHealth(req: HealthRequest, _ctx: RequestContext): Promise<HealthResponse> {
  return {
    id: req.id,
    op: "health",
    instance: { name: req.instance, group: "-", enabled: false, configDirectory: "", primary: false },
    ok: false,
    checks: [],
    attempts: 0,
    durationMs: 0,
    error: { message: "health requests are not implemented yet", code: "internal" },
  };
}
