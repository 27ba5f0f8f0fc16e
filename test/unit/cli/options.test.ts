import { describe, expect, it } from "vitest";
import { protectPassThrough } from "../../../src/cli/options.js";

const split = (s: string) => protectPassThrough(s.split(" "), ["postmulti"]);

describe("postmulti pass-through", () => {
  it("hands everything after the command word to postmulti, even postfleet's own flag names", () => {
    expect(split("-i inv.yml -l mta:!canary postmulti -i postfix-out -p reload")).toEqual(
      "-i inv.yml -l mta:!canary postmulti -- -i postfix-out -p reload".split(" "),
    );
  });
  it("skips the values of postfleet's options while looking for the command", () => {
    expect(split("--forks 5 --json -v postmulti -l")).toEqual("--forks 5 --json -v postmulti -- -l".split(" "));
  });
  it("leaves other commands alone", () => {
    expect(split("-i inv.yml report --format csv")).toEqual("-i inv.yml report --format csv".split(" "));
  });
});
