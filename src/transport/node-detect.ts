// Which Node.js runs the agent on a host: postfleet_node, else `node` or
// `nodejs` on the login user's PATH. The agent needs Node.js ≥ 18.
import type { HostConnection } from "./ssh-connection.js";
import { NodeMissingError } from "./errors.js";
import { execRemote } from "./remote-process.js";
import { shScript } from "./shell.js";

export const MIN_NODE_MAJOR = 18;

export interface NodeInfo {
  path: string;
  version: string;
}

// Positional parameters are candidate names/paths; prints "PATH VERSION" for the first that runs.
const DETECT = `for n in "$@"; do
  p=$(command -v "$n" 2>/dev/null) || continue
  v=$("$p" -e 'process.stdout.write(process.versions.node)' 2>/dev/null) || continue
  printf '%s %s\\n' "$p" "$v"; exit 0
done
exit 1`;

export function nodeCandidates(nodePath?: string): string[] {
  return nodePath ? [nodePath] : ["node", "nodejs"];
}

/** The first usable Node.js among the candidates (any version), or null. */
export async function findNode(conn: HostConnection, nodePath?: string, timeoutMs = 30_000): Promise<NodeInfo | null> {
  const r = await execRemote(conn, shScript(DETECT, nodeCandidates(nodePath)), { timeoutMs });
  if (r.exitCode !== 0) return null;
  const [path, version] = (r.stdout.trim().split("\n").pop() ?? "").split(" ");
  return path && version ? { path, version } : null;
}

export function nodeMajor(version: string): number {
  return Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
}

/** Node.js ≥ 18 or a NodeMissingError that says what to do. */
export async function requireNode(conn: HostConnection, nodePath?: string): Promise<NodeInfo> {
  const host = conn.target.name;
  const found = await findNode(conn, nodePath);
  const fix = `run \`postfleet bootstrap -l ${host}\` to install it with the host's package manager, or set postfleet_node to its path`;
  if (!found) {
    const looked = nodePath ? `postfleet_node=${nodePath} does not run` : "neither node nor nodejs is on the PATH";
    throw new NodeMissingError(host, `Node.js ≥ ${MIN_NODE_MAJOR} is required on ${host} for the postfleet agent, but ${looked}; ${fix}`);
  }
  if (nodeMajor(found.version) < MIN_NODE_MAJOR) {
    throw new NodeMissingError(host, `Node.js ≥ ${MIN_NODE_MAJOR} is required on ${host} for the postfleet agent, but ${found.path} is ${found.version}; ${fix}`);
  }
  return found;
}
