// Before the oracle suite: the real Ansible (Debian's `ansible` package) must
// be on PATH. On a fresh Debian machine, as root, install it with apt-get.
import { execFileSync } from "node:child_process";

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  if (has("ansible-inventory")) return;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    throw new Error("the oracle tests need Ansible: install it (e.g. 'apt-get install ansible') and run again");
  }
  process.stderr.write("postfleet-test: installing Debian's ansible package with apt-get (once)\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", "ansible"], { stdio: ["ignore", "ignore", "inherit"], env });
}
