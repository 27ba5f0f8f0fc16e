// POSIX shell-like splitting as Python's shlex.split does it: quotes removed,
// backslash escapes outside single quotes. With `comments` (INI host lines:
// shlex.split(line, comments=True)) `#` starts a comment wherever a new
// character is read outside quotes, even in the middle of a word, as Python's
// shlex does; without (ssh arguments: Ansible's plain shlex.split) it is a
// character like any other.

export function shlexSplit(line: string, o: { comments?: boolean } = {}): string[] {
  const comments = o.comments ?? true;
  const tokens: string[] = [];
  let token = "";
  let inToken = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      if (inToken) tokens.push(token);
      token = "";
      inToken = false;
      i++;
    } else if (c === "#" && comments) {
      break;
    } else if (c === "\\") {
      if (i + 1 >= line.length) throw new Error("No escaped character");
      token += line[i + 1];
      inToken = true;
      i += 2;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("No closing quotation");
      token += line.slice(i + 1, end);
      inToken = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        // In double quotes a backslash escapes only " and \ (and newline).
        if (d === "\\" && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === "\\")) {
          token += line[i + 1];
          i += 2;
          continue;
        }
        token += d;
        i++;
      }
      if (!closed) throw new Error("No closing quotation");
      inToken = true;
    } else {
      token += c;
      inToken = true;
      i++;
    }
  }
  if (inToken) tokens.push(token);
  return tokens;
}
