import { describe, expect, it } from "vitest";
import { iniValue, literalEval } from "../../../src/inventory/python-literal.js";
import { shlexSplit } from "../../../src/inventory/shlex.js";

describe("Python literal typing of INI values", () => {
  it.each([
    ["42", 42],
    ["-7", -7],
    ["+3", 3],
    ["0x1f", 31],
    ["0o17", 15],
    ["0b101", 5],
    ["1_000", 1000],
    ["2.5", 2.5],
    ["1e3", 1000],
    [".5", 0.5],
    ["True", true],
    ["False", false],
    ["None", null],
    ["'quoted'", "quoted"],
    ['"dq"', "dq"],
    ["'a' 'b'", "ab"],
    ["[1, 'two', 3.0]", [1, "two", 3]],
    ["(1, 2)", [1, 2]],
    ["1, 2", [1, 2]],
    ["(1)", 1],
    ["{'a': 1, 'b': [2]}", { a: 1, b: [2] }],
    ["{1: 'x'}", { "1": "x" }],
    ["'\\x41\\n'", "A\n"],
    ["r'\\n'", "\\n"],
    ["5 # comment", 5],
    ["-(1)", -1],
    ["- 2", -2],
  ])("%s", (text, value) => {
    expect(literalEval(text)).toEqual(value);
  });

  it.each(["007", "yes", "true", "a b", "{x:1}", "1.2.3", "10.0.0.1", "f'x'", "1j", "{1, 2}", "--1", "-(-1)", "-(1,)", "", "/srv/postfix"])("%s stays a string", (text) => {
    expect(literalEval(text)).toBeUndefined();
    expect(iniValue(text)).toBe(text);
  });
});

describe("shlex splitting of INI host lines", () => {
  it("removes quotes and honours escapes", () => {
    expect(shlexSplit(`h a="x y" b='z "w"' c=d\\ e`)).toEqual(["h", "a=x y", 'b=z "w"', "c=d e"]);
  });
  it("starts a comment at # even inside a word, as Python's shlex does", () => {
    expect(shlexSplit("h a=x#y b=2")).toEqual(["h", "a=x"]);
    expect(shlexSplit("h a='x#y'")).toEqual(["h", "a=x#y"]);
  });
  it("rejects an unclosed quote", () => {
    expect(() => shlexSplit('h a="x')).toThrow(/No closing quotation/);
  });
});
