// The options every command that reaches hosts shares (yargs' parsed shape),
// and the error that stops a run before any host is touched.

export interface HostArgs {
  inventory?: string[];
  limit?: string;
  forks?: number;
  json: boolean;
  "list-hosts": boolean;
  user?: string;
  "private-key"?: string;
  become?: boolean;
  "become-user"?: string;
  "ask-become-pass": boolean;
  timeout?: number;
  "op-timeout": number;
  "agent-persist"?: number;
  "host-key-checking"?: string;
  transport?: string;
  "vault-password-file"?: string[];
  "vault-id"?: string[];
  "ask-vault-pass": boolean;
  verbose?: number;
}

/** A user-facing failure before any host is touched: exit 1 with this message. */
export class UsageError extends Error {}
