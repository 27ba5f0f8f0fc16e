// Typed transport failures. The orchestrator maps them to a host status:
// `UnreachableError` → "unreachable"; everything else → "failed". Messages
// never contain secrets (passwords, passphrases, key material).

export type TransportErrorCode =
  | "unreachable"
  | "auth"
  | "host-key"
  | "timeout"
  | "aborted"
  | "become"
  | "node-missing"
  | "agent-push"
  | "agent"
  | "config";

export abstract class TransportError extends Error {
  abstract readonly code: TransportErrorCode;
  /** Inventory name of the host (or jump host) concerned. */
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.host = host;
    this.name = new.target.name;
  }
  /** True only when the host could not be reached at all (Ansible's UNREACHABLE). */
  get unreachable(): boolean {
    return this.code === "unreachable";
  }
}

/** TCP connect refused, DNS failure, network unreachable, connect/handshake timeout, connection lost. */
export class UnreachableError extends TransportError {
  readonly code = "unreachable" as const;
}

/** The server rejected every authentication method we offered (or a key could not be loaded). */
export class AuthError extends TransportError {
  readonly code = "auth" as const;
}

/** The host key was refused: changed, revoked, or unknown under strict checking. */
export class HostKeyError extends TransportError {
  readonly code = "host-key" as const;
  constructor(
    host: string,
    message: string,
    /** "changed" | "revoked" | "unknown" | "unsupported" */
    readonly reason: "changed" | "revoked" | "unknown" | "unsupported",
  ) {
    super(host, message);
  }
}

/** An operation (command, agent request) took longer than its timeout. */
export class OperationTimeoutError extends TransportError {
  readonly code = "timeout" as const;
}

/** The caller gave up on an operation (its AbortSignal fired, e.g. on Ctrl-C). */
export class OperationAbortedError extends TransportError {
  readonly code = "aborted" as const;
}

/** sudo refused: password required but none given, wrong password, not allowed. */
export class BecomeError extends TransportError {
  readonly code = "become" as const;
}

/** No Node.js ≥ 18 on the host. */
export class NodeMissingError extends TransportError {
  readonly code = "node-missing" as const;
}

/** The agent bundle could not be placed or verified on the host. */
export class AgentPushError extends TransportError {
  readonly code = "agent-push" as const;
}

/** The running agent died, spoke garbage, or answered with the wrong protocol. */
export class AgentProcessError extends TransportError {
  readonly code = "agent" as const;
  /** How the agent's process ended, when that is the error. */
  exitStatus?: { exitCode: number | null; signal: string | null };
}

/** Bad transport configuration (ssh_config, ProxyJump syntax, unreadable key file...). */
export class TransportConfigError extends TransportError {
  readonly code = "config" as const;
  /** Set when the system's ssh would do what postfleet's own reading refuses (ProxyCommand, Match exec...): the openssh transport can reach the host. */
  opensshCan?: boolean;
}

/** The agent's hello names another protocol version than this controller's. */
export class AgentVersionError extends AgentProcessError {
  constructor(
    host: string,
    /** The version the agent's hello line named. */
    readonly agentProtocol: number,
    readonly controllerProtocol: number,
    message = `agent on ${host} speaks protocol ${agentProtocol}, this controller speaks ${controllerProtocol}; push the matching agent`,
  ) {
    super(host, message);
  }
}
