// The renderers behind `postfleet inventory --yaml/--toml/--vars`: libyaml's
// emitter as Ansible's dumper uses it, the toml library's encoder, Python's
// str()/repr(). Expected texts are what Python 3.11 + PyYAML/libyaml + toml
// 0.10 print for the same values (the oracle suite compares whole outputs).
import { describe, expect, it } from "vitest";
import { loadAnsibleConfig } from "../../../src/inventory/ansible-config.js";
import { pyFloatRepr, pyRepr, pyStr, pyStrRepr } from "../../../src/inventory/python-repr.js";
import { pyYamlDump } from "../../../src/inventory/pyyaml.js";
import { tomlDumps, tomlString } from "../../../src/inventory/toml-dump.js";
import { decryptVault, encryptVault, UnsafeText, VaultedString } from "../../../src/inventory/vault.js";
import { isVaultClientScript } from "../../../src/inventory/vault-passwords.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const noVault = (): string => {
  throw new Error("no vault here");
};

describe("Python's repr and str", () => {
  it("floats as Python writes them", () => {
    expect(pyFloatRepr(1.5)).toBe("1.5");
    expect(pyFloatRepr(1e-7)).toBe("1e-07");
    expect(pyFloatRepr(0.0001)).toBe("0.0001");
    expect(pyFloatRepr(0.00001)).toBe("1e-05");
    expect(pyFloatRepr(1.5e20)).toBe("150000000000000000000");
    expect(pyFloatRepr(1.5e300)).toBe("1.5e+300");
    expect(pyFloatRepr(-2.25)).toBe("-2.25");
    expect(pyFloatRepr(NaN)).toBe("nan");
  });

  it("strings, lists and dicts as repr() prints them", () => {
    expect(pyStrRepr("it's")).toBe(`"it's"`);
    expect(pyStrRepr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pyStrRepr("a\tb\x01é\u200b")).toBe("'a\\tb\\x01é\\u200b'");
    expect(pyRepr([1, "a", true, null, { k: 1.5 }], noVault)).toBe("[1, 'a', True, None, {'k': 1.5}]");
    expect(pyStr("plain text", noVault)).toBe("plain text");
    expect(pyStr(new UnsafeText("{{ x }}"), noVault)).toBe("{{ x }}");
    expect(pyStr(new VaultedString("$ANSIBLE_VAULT..."), () => "hunter2")).toBe("hunter2");
  });
});

describe("YAML as ansible-inventory --yaml writes it", () => {
  it("quotes strings that would read back as another type, and only those", () => {
    const text = pyYamlDump({ a: "yes", b: "42", c: "0755", d: "1.5", e: "~", f: "", g: "host:25", h: "a: b", i: "- x", j: "#c", k: "it's", l: "2024-01-31", m: "plain words", n: 3, o: true, p: null });
    expect(text).toBe(
      [
        "a: 'yes'",
        "b: '42'",
        "c: '0755'",
        "d: '1.5'",
        "e: '~'",
        "f: ''",
        "g: host:25",
        "h: 'a: b'",
        "i: '- x'",
        "j: '#c'",
        "k: it's",
        "l: '2024-01-31'",
        "m: plain words",
        "n: 3",
        "o: true",
        "p: null",
        "",
      ].join("\n"),
    );
  });

  it("block layout: nested mappings, sequences not indented under a key, empty collections in flow style", () => {
    expect(pyYamlDump({ all: { children: { g: { hosts: { h1: {} } } }, list: [1, [2, 3], { k: "v", z: [] }] } })).toBe(
      ["all:", "  children:", "    g:", "      hosts:", "        h1: {}", "  list:", "  - 1", "  - - 2", "    - 3", "  - k: v", "    z: []", ""].join("\n"),
    );
  });

  it("line breaks single-quoted (doubled), tabs and characters beyond the BMP double-quoted and escaped", () => {
    expect(pyYamlDump({ m: "a\nb" })).toBe("m: 'a\n\n  b'\n");
    expect(pyYamlDump({ t: "a\tb" })).toBe('t: "a\\tb"\n');
    expect(pyYamlDump({ e: "📧 mail", u: "café" })).toBe('e: "\\U0001F4E7 mail"\nu: café\n');
  });

  it("folds long plain and quoted strings at 80 columns", () => {
    const long = "word ".repeat(20).trim();
    expect(pyYamlDump({ k: long })).toBe(`k: ${"word ".repeat(15).trim()} word\n  ${"word ".repeat(4).trim()}\n`);
    const dq = "\t" + long;
    const out = pyYamlDump({ k: dq });
    expect(out.split("\n")[1]).toMatch(/^ {2}word/);
    expect(out).not.toContain("\\\n");
  });

  it("objects met twice get anchors and aliases; vault values a !vault literal block", () => {
    const shared = ["smtp", "submission"];
    expect(pyYamlDump({ a: { p: shared }, b: { p: shared } })).toBe("a:\n  p: &id001\n  - smtp\n  - submission\nb:\n  p: *id001\n");
    expect(pyYamlDump({ s: new VaultedString("$ANSIBLE_VAULT;1.1;AES256\n6162\n") })).toBe("s: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n");
  });

  it("an empty key stays a simple key; a key longer than 128 bytes becomes a complex one", () => {
    expect(pyYamlDump({ "": 1 })).toBe("'': 1\n");
    const k = "k".repeat(129);
    expect(pyYamlDump({ [k]: 1 })).toBe(`? ${k}\n: 1\n`);
  });
});

describe("TOML as ansible-inventory --toml writes it (the toml library's encoder)", () => {
  it("tables level by level, headers only for tables with values or none, arrays with a trailing comma", () => {
    const doc = new Map<string, unknown>([
      ["web", { children: ["a", "b"] }],
      ["a", { hosts: new Map<string, unknown>([["h1.example.net", { port: 25, tags: ["x", 1, true], nested: { deep: "y" } }], ["h2", {}]]) }],
    ]);
    expect(tomlDumps(doc, noVault)).toBe(
      ['[web]', 'children = [ "a", "b",]', "", '[a.hosts."h1.example.net"]', "port = 25", 'tags = [ "x", 1, true,]', "", "[a.hosts.h2]", "", '[a.hosts."h1.example.net".nested]', 'deep = "y"', ""].join("\n"),
    );
  });

  it("None values are left out, in a list they are the string None; a mapping in a list is its keys", () => {
    expect(tomlDumps({ t: { a: null, b: [null, [{ k: 1 }]] } }, noVault)).toBe('[t]\nb = [ "None", [ [ "k",],],]\n');
  });

  it("lists of tables as [[arrays]]; a list mixing tables and values is refused", () => {
    expect(tomlDumps({ t: { l: [{ n: 1 }, { n: 2 }] } }, noVault)).toBe("[t]\n[[t.l]]\nn = 1\n\n[[t.l]]\nn = 2\n\n");
    expect(() => tomlDumps({ t: { l: ["x", { n: 1 }] } }, noVault)).toThrow(/cannot be represented in TOML/);
  });

  it("strings from Python's repr, double-quoted, with toml 0.10's handling of \\x (its bugs included)", () => {
    expect(tomlString("it's")).toBe(`"it's"`);
    expect(tomlString(`say "hi" it's`)).toBe(`"say \\"hi\\" it's"`);
    expect(tomlString("tab\there")).toBe('"tab\\there"');
    // Python: toml.dumps({"s": "a\x01b"}) is 's = "ax01b"', a literal \x41 becomes \u0041.
    expect(tomlString("a\x01b")).toBe('"ax01b"');
    expect(tomlString("x\\y\x01")).toBe('"x\\yx01"');
    expect(tomlString("\\x41")).toBe('"\\u0041"');
  });

  it("a vault value is decrypted and written as the list of its characters, as Ansible's encoder does", () => {
    const v = new VaultedString(encryptVault("pw", "k"));
    const reveal = (x: VaultedString) => decryptVault(x.ciphertext, [{ id: "default", password: Buffer.from("k") }]).toString();
    expect(tomlDumps({ t: { s: v } }, reveal)).toBe('[t]\ns = [ "p", "w",]\n');
  });
});

describe("vault ids", () => {
  it("vault_id_match: only secrets with the envelope's id (a 1.1 envelope: 'default') are tried", () => {
    const prod = encryptVault("x", "pw", { vaultId: "prod" });
    const old = encryptVault("y", "pw");
    const as = (id: string) => [{ id, password: Buffer.from("pw"), onlyMatchingId: true }];
    expect(decryptVault(prod, as("prod")).toString()).toBe("x");
    expect(() => decryptVault(prod, as("dev"))).toThrow(/vault_id_match is set .*\(prod\)/);
    expect(decryptVault(old, as("default")).toString()).toBe("y");
    expect(() => decryptVault(old, as("dev"))).toThrow(/format 1\.1 names none/);
    expect(decryptVault(prod, [{ id: "dev", password: Buffer.from("pw") }]).toString()).toBe("x");
  });

  it("client scripts are recognised by name as Ansible does (NAME-client or NAME-client.EXT)", () => {
    expect(isVaultClientScript("/x/keyring-client")).toBe(true);
    expect(isVaultClientScript("/x/keyring-client.py")).toBe(true);
    expect(isVaultClientScript("/x/client.sh")).toBe(false);
    expect(isVaultClientScript("/x/keyring-client-wrapper.sh")).toBe(false);
  });

  it("vault_id_match is read from ansible.cfg and ANSIBLE_VAULT_ID_MATCH (which wins)", () => {
    const dir = mkdtempSync(join(tmpdir(), "postfleet-cfg-"));
    writeFileSync(join(dir, "ansible.cfg"), "[defaults]\nvault_id_match = yes\n");
    const env = { HOME: dir, ANSIBLE_CONFIG: join(dir, "ansible.cfg") };
    expect(loadAnsibleConfig(dir, env, "/nonexistent")?.vaultIdMatch).toBe(true);
    const over = loadAnsibleConfig(dir, { ...env, ANSIBLE_VAULT_ID_MATCH: "False" }, "/nonexistent");
    expect(over?.vaultIdMatch).toBe(false);
    expect(over?.fromEnv).toContain("ANSIBLE_VAULT_ID_MATCH");
  });
});
