// The agent bundle on the host: ~/.cache/postfleet (mode 0700, owned by the
// login user, not a symlink, its parents $HOME and ~/.cache the login user's
// and not writable by others) holds agent-<sha256>.cjs. It is uploaded only
// when the loader (agent-launch.ts) finds it missing or not matching its hash
// (then replaced), through a temporary name and a rename. What runs is
// verified by the loader on the bytes it runs, not here.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { HostConnection } from "./ssh-connection.js";
import { AgentPushError } from "./errors.js";
import { execRemote } from "./remote-process.js";
import { shScript } from "./shell.js";

export interface AgentBundle {
  sha256: string;
  content: Buffer;
}

const bundles = new Map<string, AgentBundle & { stamp: string }>();

/**
 * The bundle's bytes and sha256, read and hashed once per content (inode, size, mtime) and
 * shared by every host of the run (each used to read and hash its own copy).
 */
export function readBundle(localPath: string): AgentBundle {
  const st = statSync(localPath);
  const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  const cached = bundles.get(localPath);
  if (cached?.stamp === stamp) return cached;
  const content = readFileSync(localPath);
  const bundle = { content, sha256: createHash("sha256").update(content).digest("hex"), stamp };
  bundles.set(localPath, bundle);
  return bundle;
}

/**
 * sha256 of file $1 in hex: sha256sum where installed, else the Node.js that
 * the loader ran with ($node), else nothing (the loader verifies before use).
 */
const SUM_FUNCTION = `sum() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum < "$1" | cut -d' ' -f1
  elif [ -n "$node" ]; then "$node" -e 'const c=require("crypto").createHash("sha256");c.update(require("fs").readFileSync(process.argv[1]));process.stdout.write(c.digest("hex")+"\\n")' "$1"
  else echo "$h"
  fi
}`;

/**
 * A directory of the cache path must be the login user's, a real directory,
 * and not writable by group or others (a parent another user can
 * write lets them swap what is below it).
 */
const SAFE_DIR = `safe_dir() {
  if [ -L "$1" ] || [ ! -d "$1" ]; then echo "$1 exists and is not a directory" >&2; exit 22; fi
  [ -O "$1" ] || { echo "$1 is not owned by the login user $(id -un); refusing to use it for the agent" >&2; exit 22; }
  if [ -n "$(find "$1" -maxdepth 0 \\( -perm -020 -o -perm -002 \\) -print)" ]; then
    echo "$1 is writable by group or others; refusing to use it for the agent (chmod go-w it)" >&2; exit 22
  fi
}`;

/**
 * Reads the bundle on stdin into a temporary file in ~/.cache/postfleet (made
 * 0700 if missing), checks its hash, renames it into place. Runs as the login
 * user. $1: sha256 of the bundle, $2: a Node.js path for hashing (may be empty).
 */
export const UPLOAD_SCRIPT = `umask 077
h=$1; node=$2
[ -n "$HOME" ] && [ -d "$HOME" ] || { echo "the login user has no home directory (HOME=$HOME)" >&2; exit 20; }
c="\${HOME%/}/.cache"; d="$c/postfleet"; f="$d/agent-$h.cjs"
${SUM_FUNCTION}
${SAFE_DIR}
# A directory another run creates at the same moment is fine: safe_dir checks it all the same.
private_dir() { [ -e "$1" ] || [ -L "$1" ] || mkdir -m 700 "$1" 2>/dev/null || [ -e "$1" ] || mkdir -m 700 "$1"; }
safe_dir "$HOME"
private_dir "$c" || exit 21
safe_dir "$c"
private_dir "$d" || exit 21
safe_dir "$d"
chmod 700 "$d" || exit 21
t=$(mktemp "$d/.agent-$h.XXXXXX") || exit 23
trap 'rm -f "$t"' EXIT
cat > "$t" || exit 24
s=$(sum "$t")
[ "$s" = "$h" ] || { echo "uploaded file has sha256 $s, expected $h" >&2; exit 25; }
mv -f "$t" "$f" || exit 26
# Other versions not used for a week go (the loader touches a file each time it runs it).
find "$d" -maxdepth 1 -name 'agent-*.cjs' ! -name "agent-$h.cjs" -mtime +7 -exec rm -f {} + 2>/dev/null || true
echo "$f"`;

export interface UploadOptions {
  /** Default 2 min. */
  timeoutMs?: number;
  /** A Node.js on the host to hash with where sha256sum is missing. */
  nodePath?: string;
}

/** Put the bundle into the login user's ~/.cache/postfleet (one exec); returns its path on the host. */
export async function uploadAgent(conn: HostConnection, bundle: AgentBundle, o: UploadOptions = {}): Promise<string> {
  const host = conn.target.name;
  const up = await execRemote(conn, shScript(UPLOAD_SCRIPT, [bundle.sha256, o.nodePath ?? ""]), { stdin: bundle.content, timeoutMs: o.timeoutMs ?? 120_000 });
  if (up.exitCode !== 0) {
    const why = up.stderr.trim() || `exit ${up.exitCode}`;
    const what = up.exitCode === 20 || up.exitCode === 21 || up.exitCode === 22 ? "cannot prepare the agent directory ~/.cache/postfleet" : "uploading the agent failed";
    throw new AgentPushError(host, `${what} on ${host}: ${why}`);
  }
  // The last line: anything before it is the login shell's start-up noise.
  return up.stdout.trim().split("\n").pop() ?? "";
}
