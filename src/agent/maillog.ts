// postmulti also logs its fatal errors to the mail log; the agent does the
// same through the host's postlog(1) (the record then carries postlog's pid).
import { which, run, type Env } from "./system.js";

export function logToMailLog(env: Env, priority: "fatal" | "warn", message: string): void {
  const postlog = which("postlog", env.PATH) ?? which("postlog", "/usr/sbin:/usr/local/sbin");
  if (!postlog) return;
  try {
    run([postlog, "-t", "postmulti", "-p", priority, message], { env, capture: true, timeoutMs: 5000 });
  } catch {
    /* logging is best effort */
  }
}
