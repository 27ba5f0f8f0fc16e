// Writing to the agent's own stdout/stderr: synchronous and complete, so
// that nothing is lost when the process exits right after.
import { writeSync } from "node:fs";

/** Write all of `data` to `fd`. False when the descriptor is gone (EPIPE, EBADF...). */
export function writeAll(fd: number, data: string | Uint8Array): boolean {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue; // non-blocking pipe full: retry
      return false;
    }
  }
  return true;
}
