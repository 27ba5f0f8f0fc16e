// `postfleet bootstrap`: install Node.js with the host's own package manager
// (apt-get, dnf, yum, zypper, apk) over the existing connection, as root
// (through sudo when the login user is not root), and report what was done.
import type { HostConnection } from "./ssh-connection.js";
import { NodeMissingError } from "./errors.js";
import { findNode, MIN_NODE_MAJOR, nodeMajor, type NodeInfo } from "./node-detect.js";
import { execRemote, type BecomeOptions } from "./remote-process.js";
import { shScript } from "./shell.js";

export type PackageManager = "apt-get" | "dnf" | "yum" | "zypper" | "apk";
export const PACKAGE_MANAGERS: readonly PackageManager[] = ["apt-get", "dnf", "yum", "zypper", "apk"];

/** The install steps per package manager (argv each; run as root). */
export function installSteps(pm: PackageManager): string[][] {
  switch (pm) {
    case "apt-get":
      return [
        ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "update"],
        ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y", "install", "nodejs"],
      ];
    case "dnf":
      return [["dnf", "-y", "install", "nodejs"]];
    case "yum":
      return [["yum", "-y", "install", "nodejs"]];
    case "zypper":
      // openSUSE/SLES name Node.js by major version; nodejs-default follows the distribution's choice.
      return [shScript("zypper -n install nodejs-default || zypper -n install nodejs20 || zypper -n install nodejs18")];
    case "apk":
      return [["apk", "add", "--no-cache", "nodejs"]];
  }
}

export interface BootstrapStep {
  argv: string[];
  exitCode: number | null;
  /** Last lines of output, for the report. */
  output: string;
}

export interface BootstrapReport {
  host: string;
  /** Node.js before; null when none ran. */
  before: NodeInfo | null;
  after: NodeInfo;
  packageManager: PackageManager | null;
  steps: BootstrapStep[];
  changed: boolean;
}

export interface BootstrapOptions {
  nodePath?: string;
  /** sudo settings (password, user) used when the login user is not root. */
  become?: BecomeOptions;
  /** Per step; default 15 min. */
  stepTimeoutMs?: number;
}

const DETECT_PM = `for pm in ${PACKAGE_MANAGERS.join(" ")}; do command -v "$pm" >/dev/null 2>&1 && { echo "$pm"; exit 0; }; done; exit 1`;

function tail(s: string, lines = 15): string {
  return s.trimEnd().split("\n").slice(-lines).join("\n");
}

export async function bootstrapNode(conn: HostConnection, o: BootstrapOptions = {}): Promise<BootstrapReport> {
  const host = conn.target.name;
  const before = await findNode(conn, o.nodePath);
  if (before && nodeMajor(before.version) >= MIN_NODE_MAJOR) {
    return { host, before, after: before, packageManager: null, steps: [], changed: false };
  }
  const pmOut = await execRemote(conn, shScript(DETECT_PM), { timeoutMs: 30_000 });
  const pm = (pmOut.stdout.trim().split("\n").pop() ?? "") as PackageManager;
  if (pmOut.exitCode !== 0 || !PACKAGE_MANAGERS.includes(pm)) {
    const detail = pmOut.exitCode === 1 ? "" : ` (detection ended with ${pmOut.exitCode ?? pmOut.signal}: ${tail(pmOut.stderr, 3)})`;
    throw new NodeMissingError(host, `bootstrap on ${host}: no supported package manager found (${PACKAGE_MANAGERS.join(", ")})${detail}; install Node.js ≥ ${MIN_NODE_MAJOR} by hand and set postfleet_node`);
  }
  const uid = (await execRemote(conn, ["id", "-u"], { timeoutMs: 30_000 })).stdout.trim().split("\n").pop();
  const become = uid === "0" ? undefined : (o.become ?? {});
  const steps: BootstrapStep[] = [];
  for (const argv of installSteps(pm)) {
    const r = await execRemote(conn, argv, { become, timeoutMs: o.stepTimeoutMs ?? 15 * 60_000 });
    steps.push({ argv, exitCode: r.exitCode, output: tail(`${r.stdout}${r.stderr}`) });
    if (r.exitCode !== 0) {
      throw new NodeMissingError(host, `bootstrap on ${host}: \`${argv.join(" ")}\` failed (exit ${r.exitCode}):\n${tail(r.stderr || r.stdout, 8)}`);
    }
  }
  // A PATH-only search: a postfleet_node that pointed elsewhere may still be missing.
  const after = (await findNode(conn, o.nodePath)) ?? (o.nodePath ? await findNode(conn) : null);
  if (!after) {
    throw new NodeMissingError(host, `bootstrap on ${host}: ${pm} installed nodejs but no node/nodejs command is found afterwards`);
  }
  if (nodeMajor(after.version) < MIN_NODE_MAJOR) {
    throw new NodeMissingError(
      host,
      `bootstrap on ${host}: ${pm} installed Node.js ${after.version}, older than ${MIN_NODE_MAJOR}; install Node.js ≥ ${MIN_NODE_MAJOR} from another source (e.g. NodeSource) and set postfleet_node`,
    );
  }
  return { host, before, after, packageManager: pm, steps, changed: true };
}
