// What a drift run knows about one host (the run document's `data` of kind
// "drift"); apart from drift-operation.ts so that run-document.ts imports no operation.
import type { InstanceConfig } from "../protocol/index.js";

/** The names a host's configuration may mention that are expected to differ per host. */
export interface HostNames {
  /** inventory_hostname. */
  inventory: string;
  /** ansible_host (the address connected to), when the inventory gives one. */
  ansibleHost?: string;
  /** os.hostname() on the host. */
  hostname: string;
  /** The host's non-loopback IP addresses. */
  addresses: string[];
}

export interface DriftData {
  kind: "drift";
  postfixVersion: string;
  names: HostNames;
  instances: InstanceConfig[];
}
