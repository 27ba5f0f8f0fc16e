import { describe, expect, it } from "vitest";
import { PostmultiFatal, USAGE_TEXT } from "../../../../src/agent/postmulti/messages.js";
import { parseAgentOptions, parsePostmultiArgs } from "../../../../src/agent/postmulti/options.js";

function fatalOf(argv: string[]): { message: string; preface: string[]; code: string } {
  try {
    parsePostmultiArgs(argv);
  } catch (e) {
    if (e instanceof PostmultiFatal) return { message: e.message, preface: e.preface, code: e.code };
    throw e;
  }
  throw new Error(`no fatal error for ${argv.join(" ")}`);
}

describe("postmulti option parsing", () => {
  it("parses iterator modes with selection and command", () => {
    const o = parsePostmultiArgs(["-g", "mta", "-p", "reload"]);
    expect(o.mode).toEqual({ kind: "iterate", iter: "postfix" });
    expect(o.selection).toEqual({ type: "group", name: "mta" });
    expect(o.args).toEqual(["reload"]);
  });

  it("stops at the first non-option like glibc getopt with '+'", () => {
    const o = parsePostmultiArgs(["-i", "postfix-out", "-x", "postconf", "-e", "a=b"]);
    expect(o.mode).toEqual({ kind: "iterate", iter: "generic" });
    expect(o.args).toEqual(["postconf", "-e", "a=b"]);
    expect(parsePostmultiArgs(["-x", "--", "-v"]).args).toEqual(["-v"]);
  });

  it("accepts clustered flags and attached option arguments", () => {
    const o = parsePostmultiArgs(["-lvRgmta"]);
    expect(o.mode).toEqual({ kind: "iterate", iter: "list" });
    expect(o.verbose).toBe(1);
    expect(o.reverse).toBe(true);
    expect(o.selection).toEqual({ type: "group", name: "mta" });
  });

  it("turns '-I -' and '-G -' into empty assignments", () => {
    const o = parsePostmultiArgs(["-e", "assign", "-i", "postfix-a", "-I", "-", "-G", "-"]);
    expect(o.assignName).toBe("");
    expect(o.assignGroup).toBe("");
  });

  it("toggles -R and allows -R -R with -p", () => {
    expect(parsePostmultiArgs(["-p", "-R", "-R", "start"]).reverse).toBe(false);
  });

  it("reports getopt errors before the usage text", () => {
    expect(fatalOf(["-z"])).toEqual({ message: USAGE_TEXT, preface: ["invalid option -- 'z'"], code: "usage" });
    expect(fatalOf(["-l", "-e"]).preface).toEqual(["option requires an argument -- 'e'"]);
    expect(fatalOf(["--json", "-l"]).preface).toEqual(["invalid option -- '-'"]);
  });

  it.each([
    [[], "Specify exactly one of '-e', '-l', '-p', '-x'"],
    [["-l", "-p"], "Specify exactly one of '-e', '-l', '-p', '-x'"],
    [["-l", "-a", "-g", "x"], "Specity no more than one of '-a', '-g', '-i'"],
    [["-l", "-i", "a", "-i", "b"], "Specity no more than one of '-a', '-g', '-i'"],
    [["-l", "foo"], "Command not allowed with '-l'"],
    [["-x"], "Command required with '-p' or '-x' option"],
    [["-p", "-R", "start"], "The '-p' and '-e' options preclude the use of '-R'"],
    [["-e", "create", "-R"], "The '-p' and '-e' options preclude the use of '-R'"],
    [["-I", "postfix-a", "-l"], "Cannot assign instance name or group without '-e assign'"],
    [["-G", "g", "-e", "enable", "-i", "x"], "Cannot assign instance name or group with '-e enable'"],
    [["-e", "assign", "-i", "x"], "Specify new instance name or group with '-e assign'"],
    [["-e", "enable", "-i", "x", "a=b"], "Parameter overrides not valid with '-e enable'"],
    [["-I", "a", "-I", "b", "-e", "create"], "Specify at most one '-I' option"],
    [["-G", "a", "-G", "b", "-e", "create"], "Specify at most one '-G' option"],
    [["-j", "-p", "status"], "JSON output available only with '-l'"],
    [
      ["-e", "bogus"],
      "Invalid '-e' edit action 'bogus'. Specify 'create', 'destroy', 'import', 'deport', 'enable', 'disable', 'assign' or 'init'",
    ],
  ])("rejects %j with postmulti's message", (argv, message) => {
    expect(fatalOf(argv as string[]).message).toBe(message);
  });

  it("fails on the first bad option in command-line order", () => {
    // -e bogus is reported before the later duplicate -I
    expect(fatalOf(["-e", "bogus", "-I", "a", "-I", "b"]).message).toMatch(/^Invalid '-e' edit action/);
  });

  it("counts repeating the same mode once", () => {
    expect(parsePostmultiArgs(["-l", "-l"]).mode).toEqual({ kind: "iterate", iter: "list" });
    expect(fatalOf(["-e", "create", "-e", "import"]).message).toBe("Specify exactly one of '-e', '-l', '-p', '-x'");
  });

  it("accepts -j with -l", () => {
    expect(parsePostmultiArgs(["-l", "-j"]).json).toBe(true);
  });
});

describe("agent long options", () => {
  it("takes its own options off the front only", () => {
    expect(parseAgentOptions(["--json", "--dry-run", "-l", "--json"])).toMatchObject({
      json: true,
      dryRun: true,
      serve: false,
      rest: ["-l", "--json"],
    });
    expect(parseAgentOptions(["--lock-timeout=2.5", "-l"]).lockTimeoutMs).toBe(2500);
    expect(parseAgentOptions(["--serve"]).serve).toBe(true);
  });

  it("rejects a bad lock timeout", () => {
    expect(() => parseAgentOptions(["--lock-timeout=soon"])).toThrow(/invalid --lock-timeout/);
  });
});
