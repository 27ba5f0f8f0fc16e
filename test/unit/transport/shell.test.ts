// shellQuote/buildCommand: every argument reaches the program verbatim through a real sh.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildCommand, shellQuote, shScript } from "../../../src/transport/shell.js";
import { sudoCommand } from "../../../src/transport/remote-process.js";

const WEIRD = [
  "plain",
  "a;touch /tmp/postfleet-pwned",
  "$(id)",
  "`id`",
  "it's",
  "'",
  "''",
  '"',
  "two  spaces",
  " lead and trail ",
  "line1\nline2",
  "tab\there",
  "",
  "*",
  "?",
  "~",
  "~root",
  "$HOME",
  "${HOME}",
  "back\\slash",
  "-n",
  "--",
  "a|b&c>d<e",
  "!bang",
  "#hash",
  "ünïcødé",
];

function runThroughSh(command: string): string[] {
  // printf prints each argument NUL-terminated; what sh passed is exactly what we get.
  const out = execFileSync("sh", ["-c", command]).toString();
  return out.split("\0").slice(0, -1);
}

describe("shell quoting", () => {
  it("passes metacharacters, quotes, spaces, newlines and empty strings verbatim through sh", () => {
    expect(runThroughSh(buildCommand(["printf", "%s\\0", ...WEIRD]))).toEqual(WEIRD);
  });

  it("also under dash and bash (login shells on Debian hosts)", () => {
    for (const shell of ["dash", "bash"]) {
      const out = execFileSync(shell, ["-c", buildCommand(["printf", "%s\\0", ...WEIRD])]).toString();
      expect(out.split("\0").slice(0, -1)).toEqual(WEIRD);
    }
  });

  it("leaves harmless words unquoted and quotes the rest", () => {
    expect(shellQuote("postfix-out")).toBe("postfix-out");
    expect(shellQuote("/etc/postfix/main.cf")).toBe("/etc/postfix/main.cf");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("~")).toBe("'~'");
  });

  it("rejects NUL bytes and empty commands", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
    expect(() => buildCommand([])).toThrow(/empty/);
  });

  it("shScript keeps untrusted values out of the script", () => {
    const argv = shScript('printf "%s\\0" "$@"', ["$(id)", "x;y"]);
    expect(runThroughSh(buildCommand(argv))).toEqual(["$(id)", "x;y"]);
  });

  it("builds the sudo line without the password, with -S and the prompt when a password is given, -n otherwise", () => {
    const withPw = sudoCommand(["id", "-u"], { password: "hunter2", user: "postfix" }, "[p] password: ", "MARK");
    expect(withPw).not.toContain("hunter2");
    expect(withPw).toMatch(/^sudo -H -S -p '\[p\] password: ' -u postfix -- sh -c 'echo MARK; exec "\$@"' sh id -u$/);
    expect(sudoCommand(["true"], {}, "p", "M")).toMatch(/^sudo -H -n -u root -- /);
  });
});
