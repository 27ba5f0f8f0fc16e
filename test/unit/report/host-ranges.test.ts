import { describe, expect, it } from "vitest";
import { compactHostList } from "../../../src/report/host-ranges.js";

const seq = (prefix: string, from: number, to: number, width: number, suffix = "") =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, "0")}${suffix}`);

describe("compact host lists", () => {
  it("folds a run of names with equal-width numbers into Ansible's range syntax, whatever the order", () => {
    expect(compactHostList(seq("mta", 1, 480, 3).reverse())).toBe("mta[001:480]");
    expect(compactHostList(["mta02", "mta01", "mta03"])).toBe("mta[01:03]");
  });

  it("splits ranges at gaps and lists short runs and single names one by one", () => {
    expect(compactHostList([...seq("mta", 1, 3, 2), "mta05", ...seq("mta", 7, 8, 2), ...seq("mta", 10, 14, 2)])).toBe("mta[01:03], mta05, mta07, mta08, mta[10:14]");
  });

  it("keeps numbers of different widths apart and sorts them by value", () => {
    expect(compactHostList(["mta10", "mta9", "mta11", "mta12", "mta8", "mta7"])).toBe("mta[7:9], mta[10:12]");
    expect(compactHostList(["mta01", "mta1", "mta02", "mta03"])).toBe("mta1, mta[01:03]");
  });

  it("keeps different prefixes and suffixes apart, ranging on the last number", () => {
    expect(compactHostList([...seq("mx", 1, 3, 1, ".eu.example.com"), ...seq("mx", 1, 3, 1, ".us.example.com"), ...seq("dc2-mta", 1, 4, 2)])).toBe(
      "dc2-mta[01:04], mx[1:3].eu.example.com, mx[1:3].us.example.com",
    );
  });

  it("lists names without numbers as they are, sorted, duplicates once", () => {
    expect(compactHostList(["relay", "hub", "mta01", "hub"])).toBe("hub, mta01, relay");
  });

  it("cuts the list past the bound and says how many hosts are left out", () => {
    const names = ["a", "b", "c", ...seq("mta", 1, 10, 2), "z1", "z3"];
    expect(compactHostList(names, 4)).toBe("a, b, c, mta[01:10] and 2 more");
    expect(compactHostList(["a", "b", "c", "d", ...seq("m", 1, 5, 1)], 3)).toBe("a, b, c and 6 more");
  });

  it("returns an empty string for no hosts", () => {
    expect(compactHostList([])).toBe("");
  });
});
