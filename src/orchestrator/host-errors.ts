// How a host's error becomes its status: "unreachable" only when the host
// could not be reached at all (refused, DNS, timeout, connection lost);
// everything else (auth, host key, sudo, Node.js, agent) is "failed".
import { TransportError } from "../transport/index.js";
import type { HostStatus } from "./run-document.js";

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function statusOfError(err: unknown): Extract<HostStatus, "failed" | "unreachable"> {
  return err instanceof TransportError && err.unreachable ? "unreachable" : "failed";
}
