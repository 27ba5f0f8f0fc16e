// The command line's side of run records: `--events -` reaches the option
// (not a positional), which postmulti commands are read-only (no journal),
// and --events - never shares stdout with --json.
import { describe, expect, it } from "vitest";
import { postmultiReadOnly } from "../../../src/cli/commands/postmulti.js";
import { normalizeArgv } from "../../../src/cli/options.js";
import { checkOutputArgs, humanStream } from "../../../src/cli/recording.js";

const CMDS = ["postmulti", "run", "runs"];

describe("run records on the command line", () => {
  it("--events - becomes --events=- before and after the command word, never inside postmulti's arguments", () => {
    expect(normalizeArgv(["-i", "inv", "--events", "-", "postmulti", "-p", "reload"], CMDS, ["postmulti"])).toEqual(["postmulti", "-i", "inv", "--events=-", "--", "-p", "reload"]);
    expect(normalizeArgv(["--events", "ev.jsonl", "-i", "inv", "run", "pb.yml", "--junit", "j.xml"], CMDS, ["postmulti"])).toEqual(["run", "--events", "ev.jsonl", "-i", "inv", "pb.yml", "--junit", "j.xml"]);
    expect(normalizeArgv(["run", "pb.yml", "--events", "-"], CMDS, ["postmulti"])).toEqual(["run", "pb.yml", "--events=-"]);
    expect(normalizeArgv(["postmulti", "-x", "cmd", "--events", "-"], CMDS, ["postmulti"])).toEqual(["postmulti", "--", "-x", "cmd", "--events", "-"]);
  });

  it("postmulti -l and -p status are read-only; stop, start, -e, -x are not", () => {
    for (const ro of [["-l"], ["-l", "-a"], ["-la"], ["-g", "mta", "-l"], ["-p", "status"], ["-i", "postfix-out", "-p", "status"]]) expect(postmultiReadOnly(ro), ro.join(" ")).toBe(true);
    for (const rw of [["-p", "stop"], ["-p", "start"], ["-I", "postfix-x", "-e", "create"], ["-x", "postqueue", "-l"], ["-i", "x", "-x", "sh", "-c", "-p status"]]) expect(postmultiReadOnly(rw), rw.join(" ")).toBe(false);
  });

  it("--events - with --json is refused; with --events - the human output goes to stderr", () => {
    expect(() => checkOutputArgs({ events: "-", json: true })).toThrow(/--events - and --json/);
    expect(() => checkOutputArgs({ events: "f.jsonl", json: true })).not.toThrow();
    expect(humanStream({ events: "-" })).toBe(process.stderr);
    expect(humanStream({ events: "f" })).toBe(process.stdout);
  });
});
