// `service` requests (protocol 2): start/stop/reload/restart one instance, through systemd or postfix(1).
import type { ServiceRequest, ServiceResponse } from "../protocol/index.js";
import type { RequestContext } from "./request-context.js";

export async function handleService(req: ServiceRequest, _ctx: RequestContext): Promise<ServiceResponse> {
  return {
    id: req.id,
    op: "service",
    instance: { name: req.instance, group: "-", enabled: false, configDirectory: "", primary: false },
    action: req.action,
    via: "postfix",
    command: null,
    exitCode: 1,
    stdout: "",
    stderr: "",
    durationMs: 0,
    changed: false,
    dryRun: req.dryRun === true,
    error: { message: "service requests are not implemented yet", code: "internal" },
  };
}
