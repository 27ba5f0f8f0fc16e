// The transport facade, the only module other folders import from src/transport:
// one HostSession per host for the whole run.
//   const s = await openHost(target, opts);
//   const agent = await s.startAgent("dist/agent.cjs"); // one exec: find Node.js, verify, run those bytes
//   await agent.request({ op: "facts" });               //   (through sudo with become; upload when needed)
//   await agent.close(); await s.close();

export * from "./errors.js";
export {
  AgentClient,
  AgentRequestError,
  CANCEL_ANSWER_WAIT_MS,
  type AgentClientOptions,
  type AgentRequestBody,
  type RequestOptions,
  type ResponseByOp,
  type ResponseFor,
  type RequestTiming,
} from "./agent-client.js";
export { PACKAGE_MANAGERS, installSteps, type BootstrapReport, type PackageManager } from "./node-bootstrap.js";
export { Ssh2Connection, hostsWithoutKeyChecking, openConnection, type ConnectionOptions, type ConnectTimings, type HostConnection } from "./ssh-connection.js";
export { OpenSshConnection, openOpenSshConnection } from "./openssh-connection.js";
export { KeyStore, PASSPHRASE_ENV, type PassphraseSource } from "./private-keys.js";
export { fingerprintSha256, hashHostName, knownHostsName, parseKnownHosts, verifyHostKey, type UnverifiedHostKey } from "./known-hosts.js";
export { MIN_NODE_MAJOR, type NodeInfo } from "./node-detect.js";
export type { BecomeOptions, ExecResult, RemoteProcess } from "./remote-process.js";
export { ResidentStore, defaultResidentDir, type ResidentEntry, type ResidentKey } from "./resident-store.js";
export { buildCommand, LOGIN_HOME, shellQuote, shScript } from "./shell.js";
export { resolveTarget, type HopSettings, type SshConfigOptions } from "./ssh-config/resolve.js";
export type { ConnectionTarget, HostKeyChecking, TransportKind } from "../shared/connection-target.js";
export {
  formatTimings,
  openHost,
  type AgentOnHost,
  type HostSession,
  type HostTimings,
  type SessionExecOptions,
  type TransportOptions,
} from "./host-session.js";
