// How manifest problems quote what they found ("got ...") and suggest what was probably meant.
import type { Node } from 'jsonc-parser/lib/esm/main.js';

/** What a value is, for "(got ...)". */
export function describe(node: Node): string {
  switch (node.type) {
    case 'string': {
      const value = String(node.value);
      return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
    }
    case 'number':
      return String(node.value);
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return 'nothing';
  }
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: typos are mostly these. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known name the unknown one is most probably a typo of. */
export function suggestion(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  let close: string | undefined;
  let closest = 3;
  for (const candidate of known) {
    const distance = editDistance(candidate.toLowerCase(), lower);
    if (distance < closest) {
      close = candidate;
      closest = distance;
    }
  }
  return close === undefined ? `known properties: ${known.join(', ')}` : `did you mean "${close}"?`;
}
