// Quoting for POSIX sh. Every value that comes from an inventory, a playbook
// or an instance name reaches the remote shell only through these functions,
// so `;`, `$()`, backticks, quotes, spaces and newlines stay literal.

/** Characters that need no quoting in any POSIX shell word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that the remote `sh` turns back into exactly `arg`. */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw new Error("a NUL byte cannot be passed in a command argument");
  if (arg !== "" && SAFE.test(arg)) return arg;
  // Inside single quotes nothing is special except the closing quote itself.
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * An argv element that the login shell replaces by the login user's $HOME (as
 * one word, "$HOME"). It holds a NUL, so no real argument can be mistaken for it.
 * Under become this is how the root side learns the login user's home.
 */
export const LOGIN_HOME = "\0postfleet:login-home\0";

/** A remote command line that runs `argv[0]` with exactly `argv[1..]` as its arguments. */
export function buildCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty command");
  return argv.map((a) => (a === LOGIN_HOME ? '"$HOME"' : shellQuote(a))).join(" ");
}

/** `sh -c SCRIPT sh ARGS...`: a fixed script (ours) with untrusted values only as positional parameters. */
export function shScript(script: string, args: readonly string[] = []): string[] {
  return ["sh", "-c", script, "sh", ...args];
}
