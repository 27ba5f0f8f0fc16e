// A long-running agent (serve mode, resident agent) reads the same main.cf
// files with postconf for nearly every request: the primary's, then each
// instance's (postmulti's load_instance()). A read is answered from memory
// when the main.cf it reads and the postconf binary are the same files, with
// the same size and times, and the host name and addresses are the same, as
// when it was run; anything else runs postconf.
// One-shot invocations (postmulti compatibility) never use it.
import { statSync } from "node:fs";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { spawnCommand, type CommandOptions, type CommandResult } from "../system/spawn-command.js";

let enabled = false;
/** The primary's config_directory, learned from its first read (postconf's built-in default). */
let primaryDir: string | undefined;
const entries = new Map<string, { sig: string; result: CommandResult }>();
const MAX_ENTRIES = 512;

/** Called by the long-running modes only. */
export function enablePostconfReadCache(): void {
  enabled = true;
}

/**
 * What a read depends on: the files, and the system values Postfix's defaults
 * come from (myhostname and mydomain from the host name, mynetworks from the
 * interfaces' addresses), which can change while a resident agent lives.
 */
function signature(paths: readonly string[]): string | null {
  try {
    const files = paths.map((p) => {
      const st = statSync(p, { bigint: true });
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    });
    const addresses = Object.values(networkInterfaces()).flatMap((xs) => (xs ?? []).map((x) => x.cidr ?? x.address));
    return [...files, hostname(), addresses.join(",")].join("|");
  } catch {
    return null;
  }
}

/** The config directory a read-only `postconf -x [-c DIR] ...` reads, or null when it is not such a read. */
function readsFrom(argv: readonly string[], env: CommandOptions["env"]): string | null | undefined {
  if (argv[1] === "-xc" && argv[2]) return argv[2];
  if (argv[1] === "-x" && !argv.slice(2).some((a) => a.startsWith("-"))) return env.MAIL_CONFIG || primaryDir; // undefined: not learned yet
  return null;
}

/** spawnCommand for `postconf -x [params]` and `postconf -xc DIR [params]`, from memory while nothing they read changed. */
export async function readPostconf(argv: string[], o: CommandOptions): Promise<CommandResult> {
  const dir = readsFrom(argv, o.env);
  if (!enabled || !o.capture || o.stderrThrough || dir === null) return spawnCommand(argv, o);
  const key = JSON.stringify([argv, o.env.MAIL_CONFIG ?? null]);
  const deps = dir === undefined ? null : [join(dir, "main.cf"), argv[0]!];
  const before = deps && signature(deps);
  const hit = entries.get(key);
  if (before && hit?.sig === before) return { ...hit.result, durationMs: 0 };
  const r = await spawnCommand(argv, o);
  if (r.spawnError || r.timedOut || r.cancelled || r.truncated || r.exitCode !== 0) return r;
  if (dir === undefined && argv[1] === "-x") {
    const m = /^config_directory = (.*)$/m.exec(r.stdout);
    if (m) primaryDir = m[1];
    return r; // learned where it reads from; cached from the next read on
  }
  // Stored only if nothing changed while postconf ran.
  if (before && signature(deps!) === before) {
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(key, { sig: before, result: r });
  }
  return r;
}
