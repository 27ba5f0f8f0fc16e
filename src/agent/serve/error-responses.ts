// Answers that carry only an error, in the shape of the request they answer
// (protocol 2: a cancelled or failed request still answers with its own op).
import { hostname } from "node:os";
import type { AgentError, AgentRequest, AgentResponse, InstanceInfo } from "../../protocol/index.js";
import { AGENT_VERSION } from "../version.js";

/** Ops whose responses have an `error` field next to their results. */
const WITH_ERROR_FIELD = new Set(["postmulti", "facts", "config", "health", "service"]);

function unknownInstance(name: string): InstanceInfo {
  return { name, group: "-", enabled: false, configDirectory: "", primary: name === "-" || name === "" };
}

/** The request's own response shape with nothing done and `error` set; an `error` op for the others. */
export function errorResponseFor(req: AgentRequest, error: AgentError): AgentResponse {
  switch (req.op) {
    case "postmulti":
      return { id: req.id, op: "postmulti", exitCode: 1, dryRun: req.dryRun === true, changed: false, results: [], warnings: [], error };
    case "facts":
      return { id: req.id, op: "facts", postfixVersion: "", nodeVersion: process.versions.node, agentVersion: AGENT_VERSION, hostname: hostname(), instances: [], error };
    case "config":
      return { id: req.id, op: "config", instance: unknownInstance(req.instance), dryRun: req.dryRun === true, changed: false, changes: [], error };
    case "health":
      return { id: req.id, op: "health", instance: unknownInstance(req.instance), ok: false, checks: [], attempts: 0, durationMs: 0, error };
    case "service":
      return {
        id: req.id,
        op: "service",
        instance: unknownInstance(req.instance),
        action: req.action,
        via: req.via === "systemd" ? "systemd" : "postfix",
        command: null,
        exitCode: 1,
        stdout: "",
        stderr: "",
        durationMs: 0,
        changed: false,
        dryRun: req.dryRun === true,
        error,
      };
    default:
      return { id: req.id, op: "error", error };
  }
}

/**
 * A cancelled request's answer says so: error code "cancelled" (an error the
 * cancel caused, e.g. a killed postconf's "cannot parse", is kept in the message).
 */
export function asCancelled(res: AgentResponse, cancelled: AgentError): AgentResponse {
  if (!WITH_ERROR_FIELD.has(res.op)) return res;
  const current = (res as { error?: AgentError }).error;
  if (current?.code === "cancelled") return res;
  const error = current ? { code: cancelled.code, message: `${cancelled.message} (${current.message})` } : cancelled;
  return { ...res, error } as AgentResponse;
}
