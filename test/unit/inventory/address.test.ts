import { describe, expect, it } from "vitest";
import { expandHostPattern, expandHostnameRange, parseAddress } from "../../../src/inventory/address.js";

describe("host ranges", () => {
  it("numbers keep their zero padding", () => {
    expect(expandHostnameRange("mx[08:11].example.net")).toEqual(["mx08.example.net", "mx09.example.net", "mx10.example.net", "mx11.example.net"]);
  });
  it("steps", () => {
    expect(expandHostnameRange("r[1:9:3]")).toEqual(["r1", "r4", "r7"]);
    expect(expandHostnameRange("o[00:20:10]")).toEqual(["o00", "o10", "o20"]);
  });
  it("letters, across the case boundary as Ansible's ascii_letters", () => {
    expect(expandHostnameRange("e-[a:c]")).toEqual(["e-a", "e-b", "e-c"]);
    expect(expandHostnameRange("x[y:B]")).toEqual(["xy", "xz", "xA", "xB"]);
  });
  it("several ranges in one name", () => {
    expect(expandHostnameRange("c[a:b][1:2]")).toEqual(["ca1", "ca2", "cb1", "cb2"]);
  });
  it("an empty begin means 0", () => {
    expect(expandHostnameRange("n[:2]")).toEqual(["n0", "n1", "n2"]);
  });
  it.each([
    ["mx[01:5]", /equal-length/],
    ["mx[a:9]", /numeric|letters/],
    ["mx[1]", /begin:end/],
    ["mx[1:]", /end value/],
    ["mx[1:3:0]", /step/],
    ["mx[c:a]", /begin <= end/],
    ["mx[1:3", /not closed/],
  ])("rejects %s", (pattern, msg) => {
    expect(() => expandHostnameRange(pattern)).toThrow(msg);
  });
});

describe("addresses with ports", () => {
  it.each([
    ["host.example.com:2222", { host: "host.example.com", port: 2222 }],
    ["192.0.2.1:22", { host: "192.0.2.1", port: 22 }],
    ["[2001:db8::1]:2200", { host: "2001:db8::1", port: 2200 }],
    ["2001:db8::1", { host: "2001:db8::1" }],
    ["mx[01:03]:25", { host: "mx[01:03]", port: 25 }],
  ])("%s", (text, parsed) => {
    expect(parseAddress(text)).toEqual(parsed);
  });
  it("expands a range with a port", () => {
    expect(expandHostPattern("n[1:2].x:2022")).toEqual({ names: ["n1.x", "n2.x"], port: 2022 });
  });
  it("is not an address: globs and spaces", () => {
    expect(parseAddress("web*")).toBeUndefined();
    expect(parseAddress("a b")).toBeUndefined();
  });
});
