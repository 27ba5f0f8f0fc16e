// Errors in inventory sources: always "file:line: what is wrong and how to fix".
// Messages never carry secrets (vault plaintext, passwords).

export class InventoryError extends Error {
  file?: string;
  line?: number;
  column?: number;

  constructor(message: string, where: { file?: string; line?: number; column?: number } = {}) {
    const prefix = where.file ? `${where.file}${where.line ? `:${where.line}` : ""}${where.line && where.column ? `:${where.column}` : ""}: ` : "";
    super(prefix + message);
    this.name = "InventoryError";
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}
