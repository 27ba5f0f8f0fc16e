import { describe, expect, it } from "vitest";
import { normalizeArgv } from "../../../src/cli/options.js";

const split = (s: string) => normalizeArgv(s.split(" "), ["postmulti", "report", "ping"], ["postmulti"]);

describe("postmulti pass-through", () => {
  it("hands everything after the command word to postmulti, even postfleet's own flag names", () => {
    expect(split("-i inv.yml -l mta:!canary postmulti -i postfix-out -p reload")).toEqual(
      "postmulti -i inv.yml -l mta:!canary -- -i postfix-out -p reload".split(" "),
    );
  });
  it("skips the values of postfleet's options while looking for the command", () => {
    expect(split("--forks 5 --json -v postmulti -l")).toEqual("postmulti --forks 5 --json -v -- -l".split(" "));
  });
  it("moves the command word first for other commands, keeping their options", () => {
    expect(split("-i inv.yml report --format csv")).toEqual("report -i inv.yml --format csv".split(" "));
    expect(split("ping -i inv.yml")).toEqual("ping -i inv.yml".split(" "));
  });
  it("leaves unknown words to yargs (which reports them)", () => {
    expect(split("-i inv.yml frobnicate")).toEqual("-i inv.yml frobnicate".split(" "));
  });
});
