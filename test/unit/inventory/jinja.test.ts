// The Jinja2 expression subset against values taken from Ansible 2.14's own
// Templar (each expression templated as the constructed plugin does: compose
// as '{{EXPR}}', a condition as '{% if EXPR %} True {% else %} False {% endif %}',
// over the variables below); and the constructs postfleet refuses, by name.
import { describe, expect, it } from "vitest";
import { Evaluator, JinjaError, JinjaUndefinedError, UnsupportedJinja } from "../../../src/inventory/jinja/evaluate.js";
import { parseExpression, parseTemplate } from "../../../src/inventory/jinja/parse.js";
import { pyRegExp, pySub, UnsupportedRegex } from "../../../src/inventory/jinja/pyregex.js";

const VARS: Record<string, unknown> = {
  s: "Hello World", n: 7, f: 2.5, z: 0, t: true, no: false, none: null, e: "",
  l: [3, "a", null], d: { k: "v", n: 1, items: 2 }, el: [], ed: {},
  ver: "12.04", tpl: "{{ s }}!", tpl_undef: "{{ nope }}", tpl_num: "{{ n }}", tpl_list: "[{{ n }}, 2]", word: "yes",
};

const evaluator = () => new Evaluator({ lookup: (n) => (n in VARS ? { value: VARS[n] } : undefined), reveal: () => "" });

// [how, expression, Ansible's outcome, Ansible's value] (generated with ansible.template.Templar 2.14).
const FROM_ANSIBLE: [string, string, string, unknown][] = [
  ["compose", "s | lower", "ok", "hello world"],
  ["compose", "s | upper", "ok", "HELLO WORLD"],
  ["compose", "s | replace('o', '0')", "ok", "Hell0 W0rld"],
  ["compose", "s | replace('o', '0', 1)", "ok", "Hell0 World"],
  ["compose", "s | replace('', '-')", "ok", "-H-e-l-l-o- -W-o-r-l-d-"],
  ["compose", "n ~ '/' ~ f ~ '/' ~ t ~ '/' ~ none", "ok", "7/2.5/True/None"],
  ["compose", "l", "ok", [3, "a", null]],
  ["compose", "l ~ ''", "ok", [3, "a", null]],
  ["compose", "d", "ok", {"k": "v", "n": 1, "items": 2}],
  ["compose", "d.k", "ok", "v"],
  ["compose", "d['n']", "ok", "1"],
  ["compose", "l[0]", "ok", "3"],
  ["compose", "l[-1]", "ok", ""],
  ["compose", "l[9] | default('far')", "ok", "far"],
  ["compose", "s[0]", "ok", "H"],
  ["compose", "nope | default('dflt')", "ok", "dflt"],
  ["compose", "e | default('dflt')", "ok", ""],
  ["compose", "e | default('dflt', true)", "ok", "dflt"],
  ["compose", "e | d('x', boolean=true)", "ok", "x"],
  ["compose", "nope.a.b | default(1)", "ok", "1"],
  ["compose", "n", "ok", 7],
  ["compose", "n | string", "ok", "7"],
  ["compose", "t", "ok", true],
  ["compose", "none", "ok", null],
  ["compose", "none | default('x')", "ok", ""],
  ["compose", "[n, s]", "ok", [7, "Hello World"]],
  ["compose", "{'a': n}", "ok", {"a": 7}],
  ["compose", "'True'", "ok", true],
  ["compose", "'yes' | bool", "ok", true],
  ["compose", "word | bool", "ok", true],
  ["compose", "'Off' | bool", "ok", false],
  ["compose", "1 | bool", "ok", true],
  ["compose", "0 | bool", "ok", false],
  ["compose", "none | bool", "ok", ""],
  ["compose", "l | bool", "ok", false],
  ["compose", "'12.7' | int", "ok", "12"],
  ["compose", "ver | int", "ok", "12"],
  ["compose", "'abc' | int", "ok", "0"],
  ["compose", "'abc' | int(3)", "ok", "3"],
  ["compose", "f | int", "ok", "2"],
  ["compose", "t | int", "ok", "1"],
  ["compose", "'0x10' | int", "ok", "0"],
  ["compose", "l | length", "ok", "3"],
  ["compose", "s | length", "ok", "11"],
  ["compose", "d | length", "ok", "3"],
  ["compose", "l | first", "ok", "3"],
  ["compose", "l | last", "ok", ""],
  ["compose", "d | first", "ok", "k"],
  ["compose", "s | last", "ok", "d"],
  ["compose", "el | first", "undefined", null],
  ["compose", "el | first | default('none')", "ok", "none"],
  ["compose", "l | join('-')", "ok", "3-a-None"],
  ["compose", "d | join(',')", "ok", "k,n,items"],
  ["compose", "s | join('.')", "ok", "H.e.l.l.o. .W.o.r.l.d"],
  ["compose", "s | regex_replace('o', '0')", "ok", "Hell0 W0rld"],
  ["compose", "s | regex_replace('(\\w+) (\\w+)', '\\2 \\1')", "ok", "World Hello"],
  ["compose", "s | regex_replace('(?P<a>H)', '[\\g<a>]')", "ok", "[H]ello World"],
  ["compose", "s | regex_replace('^h', 'J', ignorecase=true)", "ok", "Jello World"],
  ["compose", "'a\\nb' | regex_replace('^', '> ', multiline=true)", "ok", "> a\\nb"],
  ["compose", "'a\\nb' | regex_replace('$', '<')", "ok", "a\\nb<"],
  ["compose", "'x.y' | regex_replace('.', '_')", "ok", "___"],
  ["compose", "'a{b' | regex_replace('{', '(')", "ok", "a(b"],
  ["compose", "'aaa' | regex_replace('a{2}', 'b')", "ok", "ba"],
  ["compose", "s | regex_search('o\\s?W')", "ok", "o W"],
  ["compose", "s | regex_search('(l+)o', '\\1')", "ok", ["ll"]],
  ["compose", "s | regex_search('(?P<x>W\\w+)', '\\g<x>')", "ok", ["World"]],
  ["compose", "s | regex_search('zzz')", "ok", ""],
  ["compose", "s | regex_search('WORLD', ignorecase=true)", "ok", "World"],
  ["compose", "'r\u00e9sum\u00e9' | regex_replace('\\w', 'x')", "ok", "xxxxxx"],
  ["compose", "'a1\u0663' | regex_replace('\\d', 'D')", "ok", "aDD"],
  ["compose", "n > 3", "ok", true],
  ["compose", "s > n", "error", null],
  ["compose", "l == [3, 'a', none]", "ok", true],
  ["compose", "d == {'k': 'v', 'n': 1, 'items': 2}", "ok", true],
  ["compose", "t == 1", "ok", true],
  ["compose", "'a' < 'b' < 'c'", "ok", true],
  ["compose", "[1, 2] < [1, 3]", "ok", true],
  ["compose", "none == none", "ok", true],
  ["compose", "'k' in d", "ok", true],
  ["compose", "'ell' in s", "ok", true],
  ["compose", "3 in l", "ok", true],
  ["compose", "n in s", "error", null],
  ["compose", "nope in l", "undefined", null],
  ["compose", "l in nope", "undefined", null],
  ["compose", "not n", "ok", false],
  ["compose", "z or 'fallback'", "ok", "fallback"],
  ["compose", "n and s", "ok", "Hello World"],
  ["compose", "nope is defined", "ok", false],
  ["compose", "d.k is defined", "ok", true],
  ["compose", "d.nope is undefined", "ok", true],
  ["compose", "s is match('Hel')", "ok", true],
  ["compose", "s is match('ell')", "ok", false],
  ["compose", "s is search('ell')", "ok", true],
  ["compose", "s is search('world', ignorecase=true)", "ok", true],
  ["compose", "s is not match('W')", "ok", true],
  ["compose", "tpl", "ok", "Hello World!"],
  ["compose", "tpl_num", "ok", "7"],
  ["compose", "tpl_list", "ok", [7, 2]],
  ["compose", "tpl_undef is defined", "ok", false],
  ["compose", "tpl_undef | default('was undefined')", "ok", "was undefined"],
  ["compose", "-n", "ok", "7"],
  ["compose", "-f", "ok", "2.5"],
  ["compose", "'a' 'b'", "ok", "ab"],
  ["compose", "\"x\\ty\"", "ok", "x\\ty"],
  ["condition", "nope", "undefined", null],
  ["condition", "nope == 1", "undefined", null],
  ["condition", "nope is defined", "ok", false],
  ["condition", "n", "ok", true],
  ["condition", "z", "ok", false],
  ["condition", "e", "ok", false],
  ["condition", "s", "ok", true],
  ["condition", "el", "ok", false],
  ["condition", "ed", "ok", false],
  ["condition", "l", "ok", true],
  ["condition", "'False'", "ok", true],
  ["condition", "none", "ok", false],
  ["condition", "n == '7'", "ok", false],
  ["condition", "t and nope", "undefined", null],
  ["condition", "no and nope", "ok", false],
  ["condition", "no or nope", "undefined", null],
  ["condition", "d.nope", "undefined", null],
  ["condition", "d.nope.deeper is defined", "ok", false],
  ["condition", "'ab' in nope", "undefined", null],
  ["condition", "s is match('h', ignorecase=True)", "ok", true],
  ["condition", "\"'\\t' in 'a\\tb'\"", "ok", true],];

describe("expressions evaluate as Ansible's Templar evaluates them", () => {
  it.each(FROM_ANSIBLE)("%s %s", (how, expr, outcome, value) => {
    const run = () => (how === "compose" ? evaluator().compose(expr) : evaluator().condition(expr));
    if (outcome === "ok") expect(run()).toEqual(value);
    else if (outcome === "undefined") expect(run).toThrow(JinjaUndefinedError);
    else {
      expect(run).toThrow(JinjaError);
      expect(run).not.toThrow(JinjaUndefinedError);
    }
  });
});

describe("constructs postfleet does not evaluate are errors that name them", () => {
  it.each([
    ["n + 1", /the operator '\+'/],
    ["n * 2", /the operator '\*'/],
    ["s.startswith('H')", /function or method call \('s\.startswith\(\.\.\.\)'\)/],
    ["s.upper", /'upper' is a Python method/],
    ["d.items", /'items' is a Python method or attribute of dict/],
    ["l[0:2]", /a slice/],
    ["n if t else 0", /conditional expression/],
    ["s | truncate(3)", /the filter 'truncate'/],
    ["s is string", /the test 'string'/],
    ["lookup('env', 'HOME')", /function or method call \('lookup\(\.\.\.\)'\)/],
    ["s | regex_replace('(?i)h', 'x')", /inline flags/],
    ["s | regex_replace('a++', 'x')", /possessive/],
    ["(1, 2)", /a tuple/],
    ["1.0", /float literal 1\.0/],
  ])("%s", (expr, message) => {
    expect(() => evaluator().compose(expr)).toThrow(UnsupportedJinja);
    expect(() => evaluator().compose(expr)).toThrow(message);
  });

  it("a {% %} statement or {# #} comment inside a variable's value", () => {
    expect(() => parseTemplate("{% if x %}y{% endif %}")).toThrow(/a Jinja2 statement/);
    expect(() => parseTemplate("a {# note #}")).toThrow(/a Jinja2 comment/);
  });

  it("a syntax error says so", () => {
    expect(() => parseExpression("n ==")).toThrow(/where a value is expected \(a Jinja2 syntax error\)/);
    expect(() => parseExpression("[1, 2")).toThrow(/expected ','/);
  });
});

describe("templates", () => {
  it("whitespace control strips around the tag; braces inside {{ }} balance", () => {
    expect(evaluator().renderString("a  {{- n }} b")).toBe("a7 b");
    expect(evaluator().renderString("{{ n -}}  b")).toBe("7b");
    expect(evaluator().renderString("{{ {'a': {'b': n}} }}")).toEqual({ a: { b: 7 } });
  });

  it("a variable referring to itself is a loop error, not undefined", () => {
    const ev = new Evaluator({ lookup: (n) => (n === "a" ? { value: "{{ a }}" } : undefined), reveal: () => "" });
    expect(() => ev.compose("a")).toThrow(/recursive loop/);
    expect(() => ev.compose("a")).not.toThrow(JinjaUndefinedError);
  });

  it("strings in {{ }} keep their backslashes (Ansible doubles them), in a condition they are escapes", () => {
    expect(evaluator().compose("'a\\tb'")).toBe("a\\tb");
    expect(evaluator().condition("'a\\tb' == 'a' ~ '\\t' ~ 'b'")).toBe(true);
  });
});

describe("Python regular expressions", () => {
  it("$ matches before a final newline, . not a newline, \\d and \\w are Unicode, \\Z only at the end", () => {
    expect(pyRegExp("c$").test("abc\n")).toBe(true);
    expect(pyRegExp("c\\Z").test("abc\n")).toBe(false);
    expect(pyRegExp("a.b").test("a\nb")).toBe(false);
    expect(pyRegExp("^\\d+$").test("١٢")).toBe(true);
    expect(pyRegExp("^\\w+$").test("naïve")).toBe(true);
    expect(pyRegExp("\\bams\\b").test("db1.ams.example")).toBe(true);
    expect(pyRegExp("^b", { multiline: true }).test("a\nb")).toBe(true);
  });

  it("re.sub templates: \\1, \\g<name>, \\g<0>, unmatched groups empty, other escapes", () => {
    expect(pySub(pyRegExp("(a)|(b)"), "[\\1\\2]", "ab")).toBe("[a][b]");
    expect(pySub(pyRegExp("(?P<x>o)"), "<\\g<x>\\g<0>>", "foo")).toBe("f<oo><oo>");
    expect(pySub(pyRegExp("o"), "\\n\\&", "o")).toBe("\n\\&");
    expect(() => pySub(pyRegExp("o"), "\\q", "o")).toThrow(UnsupportedRegex);
  });
});
