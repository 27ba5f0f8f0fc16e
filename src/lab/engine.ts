// Docker engine and lab image, made available by the project's own scripts so
// that tests, `postfleet lab` and CI all set up the same way.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The postfleet package root (holds docker/ and scripts/), from src/ or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "postfleet") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the postfleet package root");
    dir = up;
  }
}

/** Start or install a Docker engine if none answers; progress goes to stderr. */
export function ensureDockerEngine(): void {
  execFileSync("bash", [join(packageRoot(), "scripts", "ensure-docker.sh")], { stdio: ["ignore", "inherit", "inherit"] });
}

/** Build the lab image if docker/ changed since the last build; returns its tag. */
export function ensureLabImage(): string {
  const out = execFileSync("bash", [join(packageRoot(), "docker", "build.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const tag = out.trim().split("\n").pop() ?? "";
  if (!/^postfleet-lab:[0-9a-f]{16}$/.test(tag)) throw new Error(`docker/build.sh printed no image tag: ${out}`);
  return tag;
}
