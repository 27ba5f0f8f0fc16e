export type { ConnectionTarget, HostKeyChecking } from "../shared/connection-target.js";
