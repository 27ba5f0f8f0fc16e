// The retry file of a playbook run (--retry, --retry-file): the hosts to run
// again (failed, unreachable, stopped before their last step, never
// attempted), one per line, for `-l @FILE`; removed when there is none. A
// rerun limited to it writes only what still needs a retry, so it shrinks.
import { existsSync, rmSync, writeFileSync } from "node:fs";

/** FILE of --retry-file, or PLAYBOOK.retry beside the playbook for --retry. */
export function retryFileOf(playbook: string, o: { file?: string | undefined; retry?: boolean | undefined }): string | undefined {
  return o.file ?? (o.retry ? playbook.replace(/\.ya?ml$/i, "") + ".retry" : undefined);
}

export function updateRetryFile(file: string, hosts: readonly string[]): void {
  if (hosts.length) {
    writeFileSync(file, hosts.map((h) => `${h}\n`).join(""));
    process.stderr.write(`postfleet: ${hosts.length} host(s) to retry written to ${file} (use -l @${file})\n`);
  } else if (existsSync(file)) {
    rmSync(file);
    process.stderr.write(`postfleet: nothing to retry; removed ${file}\n`);
  }
}
