// postmulti's diagnostics. The real postmulti prints "postmulti: fatal: ..."
// on stderr only when stderr is a terminal (and always to the mail log); the
// agent always prints it, so that callers over SSH see why it failed.
import type { AgentError } from "../../protocol/index.js";

export const PROGNAME = "postmulti";

/** A fatal postmulti error: the message text after "postmulti: fatal: ". */
export class PostmultiFatal extends Error {
  constructor(
    message: string,
    readonly code: AgentError["code"] = "failed",
    /** Lines glibc getopt prints before the fatal message ("invalid option -- 'z'"). */
    readonly preface: string[] = [],
  ) {
    super(message);
  }
}

/** The protocol's error for a fatal condition (anything else is "internal", with its stack). */
export function agentError(e: unknown): AgentError {
  if (e instanceof PostmultiFatal) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? (e.stack ?? e.message) : String(e), code: "internal" };
}

export function fatal(message: string, code: AgentError["code"] = "failed"): never {
  throw new PostmultiFatal(message, code);
}

export const USAGE_TEXT =
  "Usage:postmulti -l [-v] [-a] [-g group] [-i instance] | " +
  "postmulti -p [-v] [-a] [-g group] [-i instance] command... | " +
  "postmulti -x [-v] [-a] [-i name] [-g group] command... | " +
  "postmulti -e action [-v] [-a] [-i name] [-g group] [-I name] [-G group] [param=value ...]";

/** strerror(3) texts for the errno codes Node reports, as glibc words them. */
const STRERROR: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  ENOEXEC: "Exec format error",
  EPERM: "Operation not permitted",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
  E2BIG: "Argument list too long",
  ENOMEM: "Cannot allocate memory",
  ETXTBSY: "Text file busy",
};

export function strerror(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && STRERROR[code]) return STRERROR[code];
  return code ?? String((err as Error | undefined)?.message ?? err);
}
