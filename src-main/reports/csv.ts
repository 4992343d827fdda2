// RFC 4180 CSV of a report's primary table: CRLF line ends, one header row, quoted where needed.
import type { Cell, ReportDoc } from './data.ts';

/** Spreadsheet apps run cells starting with these as formulas; such text cells get a leading apostrophe. */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: Cell): string {
  if (value === null) return '';
  let s = typeof value === 'number' ? String(value) : value;
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv(doc: ReportDoc): Buffer {
  const lines = [doc.primary.columns, ...doc.primary.rows].map((row) => row.map(csvField).join(','));
  // A UTF-8 BOM keeps non-ASCII hostnames readable in Excel; RFC 4180 parsers skip it.
  return Buffer.from(`\uFEFF${lines.join('\r\n')}\r\n`, 'utf8');
}
