/**
 * Generated parts of hand-written documents: a table padded as the repository's tables are, and
 * the region between two markers that a generator owns (the prose around it stays by hand).
 */

/** A Markdown table with its columns padded to one width each. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const all = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...all.map((row) => [...(row[i] ?? '')].length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((text, i) => text + ' '.repeat(widths[i]! - [...text].length)).join(' | ')} |`;
  const [head, ...body] = all;
  return [line(head!), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * `document` with the region named `name` replaced by `content`. The markers say who writes it:
 * `<!-- generated: name … -->` and `<!-- end generated: name -->`.
 */
export function replaceGenerated(document: string, name: string, by: string, content: string): string {
  const begin = `<!-- generated: ${name} by ${by}; do not edit -->`;
  const end = `<!-- end generated: ${name} -->`;
  const from = document.indexOf(begin);
  const to = document.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the document has no region "${name}" (${begin} … ${end})`);
  return `${document.slice(0, from + begin.length)}\n\n${content}\n\n${document.slice(to)}`;
}
