import { describe, expect, it } from "vitest";
import { decryptVault, encryptVault, vaultIdOf } from "../../../src/inventory/vault.js";

// Made by ansible-vault 2.14 (password "vector-password", plaintext below).
const V11 = `$ANSIBLE_VAULT;1.1;AES256
33613238366262643565666463396561393461366463326533313065666431343665363535636236
3662313938663064616230316234326433363164633466300a393065333539633961356563623464
64383134316531623033356230663034336631366232373537653134393963343833353130616561
6435373161323165340a386138313833386139363433366233653333303737643833336235663562
38663334333463383130356664626335656139633535666564626534626532393962
`;
const V12 = `$ANSIBLE_VAULT;1.2;AES256;mail
64333661643533623762633737316630393230343665343337393130343135656339323464383736
3234303431333031383933346534313834666464656536350a336430313834316364636436613437
35383438303433613238383761636634633436646664333936346261363339383834613330393032
6438323336636663300a313263653639356335313863386161643562323635376464366536383566
37336338396162633032376235356165383830333633376537633562333035376437
`;
const PLAIN = 'smtp_password: "s3cr3t"\n';
const pw = (id: string, p: string) => ({ id, password: Buffer.from(p) });

describe("vault", () => {
  it("decrypts ansible-vault's format 1.1", () => {
    expect(decryptVault(V11, [pw("default", "vector-password")]).toString()).toBe(PLAIN);
  });

  it("decrypts format 1.2 with a vault id, trying the matching id first", () => {
    expect(vaultIdOf(V12)).toBe("mail");
    expect(decryptVault(V12, [pw("other", "nope"), pw("mail", "vector-password")]).toString()).toBe(PLAIN);
  });

  it("reproduces ansible-vault's ciphertext byte for byte given its salt", () => {
    const inner = Buffer.from(V11.split("\n").slice(1).join(""), "hex").toString().split("\n");
    const salt = Buffer.from(inner[0]!, "hex");
    expect(encryptVault(PLAIN, "vector-password", { salt }).trimEnd()).toBe(V11.trimEnd());
  });

  it("rejects a wrong password without revealing anything", () => {
    let msg = "";
    try {
      decryptVault(V11, [pw("default", "wrong")]);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/vault decryption failed/);
    expect(msg).not.toMatch(/s3cr3t|wrong/);
  });

  it("says so when no password was given", () => {
    expect(() => decryptVault(V11, [])).toThrow(/no vault password was given/);
  });

  it("rejects damaged data", () => {
    expect(() => decryptVault(V11.replace("3361", "zz61"), [pw("default", "x")])).toThrow(/not hexadecimal/);
    expect(() => decryptVault("$ANSIBLE_VAULT;2.0;AES256\n00\n", [pw("default", "x")])).toThrow(/format 2\.0/);
    // A flipped ciphertext byte fails the HMAC check.
    const lines = V11.split("\n");
    lines[5] = lines[5]!.replace(/.$/, (c) => (c === "2" ? "3" : "2"));
    expect(() => decryptVault(lines.join("\n"), [pw("default", "vector-password")])).toThrow(/decryption failed/);
  });

  it("round-trips its own encryption", () => {
    const v = encryptVault("hello\n", "pw", { vaultId: "prod" });
    expect(v.startsWith("$ANSIBLE_VAULT;1.2;AES256;prod\n")).toBe(true);
    expect(decryptVault(v, [pw("x", "pw")]).toString()).toBe("hello\n");
  });
});
