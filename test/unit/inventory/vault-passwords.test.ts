import { describe, expect, it } from "vitest";
import { encryptVault, loadInventory } from "../../../src/inventory/index.js";
import { tree } from "../../support/inventory-files.js";

describe("vault passwords and verbose notes", () => {
  it("--ask-vault-pass and --vault-id label@prompt ask through the prompt, once each", async () => {
    const dir = tree({
      "h.yml": "g:\n  hosts:\n    h1:\n",
      "group_vars/g.yml": encryptVault("a: from-default\n", "pw-default"),
      "host_vars/h1.yml": encryptVault("b: from-prod\n", "pw-prod", { vaultId: "prod" }),
    });
    const asked: string[] = [];
    const answers: Record<string, string> = { "Vault password: ": "pw-default", "Vault password (prod): ": "pw-prod" };
    const inv = await loadInventory({
      sources: ["h.yml"],
      cwd: dir,
      ansibleConfig: null,
      askVaultPass: true,
      vaultIds: ["prod@prompt"],
      prompt: async (p) => {
        asked.push(p);
        return answers[p] ?? "";
      },
    });
    expect(asked).toEqual(["Vault password (prod): ", "Vault password: "]);
    expect(inv.rawHostVars("h1")).toEqual({ a: "from-default", b: "from-prod" });
  });

  it("--verbose names the ansible.cfg and the sources read, and the skipped files", async () => {
    const dir = tree({ "ansible.cfg": "[defaults]\ninventory = inv\n", "inv/a.yml": "g:\n  hosts:\n    h1:\n", "inv/README.md": "# notes\n" });
    const notes: string[] = [];
    const { loadAnsibleConfig } = await import("../../../src/inventory/ansible-config.js");
    await loadInventory({ sources: [], cwd: dir, ansibleConfig: loadAnsibleConfig(dir, {}) ?? null, verbose: (m) => notes.push(m) });
    expect(notes[0]).toBe(`using ${dir}/ansible.cfg`);
    expect(notes).toContain(`inventory from ${dir}/ansible.cfg: ${dir}/inv`);
    expect(notes).toContain(`skipping ${dir}/inv/README.md (ignored like Ansible does)`);
  });
});
