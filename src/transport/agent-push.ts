// The agent bundle on the host: ~/.cache/postfleet (mode 0700, owned by the
// login user, not a symlink) holds agent-<sha256>.cjs. It is uploaded only
// when missing or not matching its hash (then replaced), through a temporary
// name and a rename, and its sha256 is checked on the host after upload.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { HostConnection } from "./ssh-connection.js";
import { AgentPushError } from "./errors.js";
import { execRemote } from "./remote-process.js";
import { shScript } from "./shell.js";

export interface AgentBundle {
  sha256: string;
  content: Buffer;
}

export function readBundle(localPath: string): AgentBundle {
  const content = readFileSync(localPath);
  return { content, sha256: createHash("sha256").update(content).digest("hex") };
}

export interface EnsureAgentResult {
  /** Absolute path of the agent on the host. */
  remotePath: string;
  sha256: string;
  /** True when this call uploaded the bundle. */
  uploaded: boolean;
  /** True when a file with that name existed but did not match its hash (tampered or truncated). */
  replaced: boolean;
}

/**
 * sha256 of file $1 in hex: sha256sum where installed, else Node.js ($node)
 * itself, which the agent needs anyway. The one copy, for push and for run.
 */
const SUM_FUNCTION = `sum() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum < "$1" | cut -d' ' -f1
  else "$node" -e 'const c=require("crypto").createHash("sha256");c.update(require("fs").readFileSync(process.argv[1]));process.stdout.write(c.digest("hex")+"\\n")' "$1"
  fi
}`;

// Shared start of the push scripts. $1: sha256 of the bundle, $2: node path (fallback hashing).
const PRELUDE = `umask 077
h=$1; node=$2
c="$HOME/.cache"; d="$c/postfleet"; f="$d/agent-$h.cjs"
${SUM_FUNCTION}
[ -n "$HOME" ] && [ -d "$HOME" ] || { echo "the login user has no home directory (HOME=$HOME)" >&2; exit 20; }
[ -d "$c" ] || mkdir -m 700 "$c" || exit 21
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo "$d exists and is not a directory" >&2; exit 22; fi
[ -d "$d" ] || mkdir -m 700 "$d" || exit 21
[ -O "$d" ] || { echo "$d is not owned by $(id -un)" >&2; exit 22; }
chmod 700 "$d" || exit 21
`;

/** Prints "present", "missing" or "mismatch ACTUAL", then the file's path on the next line. */
const CHECK = `${PRELUDE}
if [ -L "$f" ]; then echo "mismatch symlink"
elif [ -f "$f" ]; then s=$(sum "$f"); if [ "$s" = "$h" ]; then echo present; else echo "mismatch $s"; fi
else echo missing; fi
echo "$f"`;

/** Reads the bundle on stdin into a temp file, checks its hash, renames it into place. */
const UPLOAD = `${PRELUDE}
t=$(mktemp "$d/.agent-$h.XXXXXX") || exit 23
trap 'rm -f "$t"' EXIT
cat > "$t" || exit 24
s=$(sum "$t")
[ "$s" = "$h" ] || { echo "uploaded file has sha256 $s, expected $h" >&2; exit 25; }
mv -f "$t" "$f" || exit 26
# Other versions not touched for a week go (a controller still using one re-uploads it).
find "$d" -maxdepth 1 -name 'agent-*.cjs' ! -name "agent-$h.cjs" -mtime +7 -exec rm -f {} + 2>/dev/null || true
s=$(sum "$f")
[ "$s" = "$h" ] || { echo "$f has sha256 $s after the rename, expected $h" >&2; exit 25; }
echo "$f"`;

export interface EnsureAgentOptions {
  /** Per remote script; default 2 min. */
  timeoutMs?: number;
  /** Upload even when a file with the right hash is in place (after an agent spoke the wrong protocol). */
  force?: boolean;
}

/** Make sure the host holds exactly this bundle; returns where it is. */
export async function ensureAgentFile(conn: HostConnection, bundle: AgentBundle, nodePath: string, o: EnsureAgentOptions = {}): Promise<EnsureAgentResult> {
  const host = conn.target.name;
  const timeoutMs = o.timeoutMs ?? 120_000;
  const args = [bundle.sha256, nodePath];
  const check = await execRemote(conn, shScript(CHECK, args), { timeoutMs });
  if (check.exitCode !== 0) {
    throw new AgentPushError(host, `cannot prepare the agent directory ~/.cache/postfleet on ${host}: ${check.stderr.trim() || `exit ${check.exitCode}`}`);
  }
  // The last two lines: anything before them is the login shell's start-up noise.
  const [state = "", remotePath = ""] = check.stdout.trim().split("\n").slice(-2);
  if (state === "present" && !o.force) return { remotePath, sha256: bundle.sha256, uploaded: false, replaced: false };

  const up = await execRemote(conn, shScript(UPLOAD, args), { stdin: bundle.content, timeoutMs });
  if (up.exitCode !== 0) {
    throw new AgentPushError(host, `uploading the agent to ${host} failed: ${up.stderr.trim() || `exit ${up.exitCode}`}`);
  }
  return { remotePath: up.stdout.trim().split("\n").pop() || remotePath, sha256: bundle.sha256, uploaded: true, replaced: state.startsWith("mismatch") };
}

/**
 * argv that checks the agent file's sha256 on the host right before running
 * it, so a file changed after ensureAgentFile() is never executed.
 */
export function verifiedAgentArgv(remotePath: string, sha256: string, nodePath: string, agentArgs: readonly string[]): string[] {
  // $1 file, $2 hash, $3 node; then "$@" (after shift 2) is node, file, agent arguments.
  const script = `f=$1; h=$2; node=$3; shift 2
${SUM_FUNCTION}
s=$(sum "$f")
[ "$s" = "$h" ] || { echo "postfleet: $f does not match its sha256 $h (changed on the host?); refusing to run it" >&2; exit 97; }
exec "$@"`;
  return shScript(script, [remotePath, sha256, nodePath, remotePath, ...agentArgs]);
}
