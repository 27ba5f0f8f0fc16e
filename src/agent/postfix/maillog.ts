// postmulti also logs its fatal errors to the mail log; the agent does the
// same through the host's postlog(1) (the record then carries postlog's pid).
import { spawnCommand } from "../system/spawn-command.js";
import { which, type Env } from "../system/process.js";

export async function logToMailLog(env: Env, priority: "fatal" | "warn", message: string): Promise<void> {
  const postlog = which("postlog", env.PATH) ?? which("postlog", "/usr/sbin:/usr/local/sbin");
  if (!postlog) return;
  // Best effort: spawnCommand never rejects, and a failed postlog is not reported.
  await spawnCommand([postlog, "-t", "postmulti", "-p", priority, message], { env, capture: true, timeoutMs: 5000 });
}
