// Parse JUnit XML with a real XML parser (Python's xml.etree, strict about
// well-formedness) and return its shape for assertions.
import { execFileSync } from "node:child_process";

export interface JunitShape {
  root: string;
  attrs: Record<string, string>;
  suites: Array<{ name: string; attrs: Record<string, string>; cases: Array<{ name: string; classname: string; failure?: { type: string; message: string; text: string }; skipped?: { message: string } }> }>;
}

const PY = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
def case(c):
    d = {"name": c.get("name"), "classname": c.get("classname")}
    f = c.find("failure")
    if f is not None: d["failure"] = {"type": f.get("type"), "message": f.get("message"), "text": f.text or ""}
    s = c.find("skipped")
    if s is not None: d["skipped"] = {"message": s.get("message")}
    return d
print(json.dumps({"root": root.tag, "attrs": dict(root.attrib), "suites": [{"name": s.get("name"), "attrs": dict(s.attrib), "cases": [case(c) for c in s.findall("testcase")]} for s in root.findall("testsuite")]}))
`;

export function parseJunit(xml: string): JunitShape {
  return JSON.parse(execFileSync("python3", ["-c", PY], { input: xml, encoding: "utf8" })) as JunitShape;
}
