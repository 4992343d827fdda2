// A paginated PDF report (pdfkit, built-in Helvetica): title, tenant, generation time, key figures, then each table.
import PDFDocument from 'pdfkit';
import { displayTime, humanTime, type Cell, type ReportDoc, type ReportTable } from './data.ts';

const MARGIN = 40;
const ROW_H = 14;
const FONT_SIZE = 8;
const FOOTER_H = 24;

/** The built-in PDF fonts encode WinAnsi only: other characters become '?' rather than garbage glyphs. */
export function pdfSafe(value: Cell | undefined): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7E\xA0-\xFF]/g, '?');
}

type Doc = InstanceType<typeof PDFDocument>;

const displayCell = (v: Cell | undefined) => pdfSafe(typeof v === 'string' ? displayTime(v) : v);

function fit(doc: Doc, text: string, width: number): string {
  if (doc.widthOfString(text) <= width) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (doc.widthOfString(`${text.slice(0, mid)}...`) <= width) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}...`;
}

const bottom = (doc: Doc) => doc.page.height - MARGIN - FOOTER_H;

function ensureRoom(doc: Doc, needed: number): boolean {
  if (doc.y + needed <= bottom(doc)) return false;
  doc.addPage();
  return true;
}

/** Each column as wide as its content (sampled); when that is too wide, only the widest columns are cut to a common cap. */
function widths(doc: Doc, t: ReportTable, total: number): number[] {
  doc.font('Helvetica-Bold').fontSize(FONT_SIZE);
  const head = t.columns.map((c) => doc.widthOfString(pdfSafe(c)) + 8);
  doc.font('Helvetica').fontSize(FONT_SIZE);
  const want = head.map((w, i) => {
    for (const r of t.rows.slice(0, 200)) w = Math.max(w, doc.widthOfString(displayCell(r[i])) + 8);
    return Math.max(w, 36);
  });
  if (want.reduce((a, b) => a + b, 0) <= total) return want;
  let lo = 0;
  let hi = Math.max(...want);
  for (let i = 0; i < 40; i++) {
    const cap = (lo + hi) / 2;
    if (want.reduce((a, w) => a + Math.min(w, cap), 0) <= total) lo = cap;
    else hi = cap;
  }
  return want.map((w) => Math.min(w, lo));
}

/** Writes one cell: text cut to the column, numbers right-aligned. */
function cell(doc: Doc, text: string, x: number, y: number, w: number, right: boolean) {
  const s = fit(doc, text, w - 6);
  doc.text(s, right ? x + w - 3 - doc.widthOfString(s) : x + 3, y + 3, { lineBreak: false });
}

const numeric = (t: ReportTable) => t.columns.map((_, i) => t.rows.length > 0 && t.rows.every((r) => typeof r[i] === 'number'));

function header(doc: Doc, t: ReportTable, ws: number[]) {
  const y = doc.y;
  const num = numeric(t);
  doc.rect(MARGIN, y, ws.reduce((a, b) => a + b, 0), ROW_H).fill('#e6ecf5');
  doc.fillColor('#1d2330').font('Helvetica-Bold').fontSize(FONT_SIZE);
  let x = MARGIN;
  t.columns.forEach((c, i) => {
    cell(doc, pdfSafe(c), x, y, ws[i]!, num[i]!);
    x += ws[i]!;
  });
  doc.y = y + ROW_H;
}

function table(doc: Doc, t: ReportTable) {
  const usable = doc.page.width - 2 * MARGIN;
  // Short tables stay on one page; long ones start with at least a few rows under their heading.
  ensureRoom(doc, 20 + ROW_H * (Math.min(t.rows.length, t.rows.length <= 12 ? 12 : 3) + 1));
  doc.x = MARGIN;
  doc.fillColor('#1d2330').font('Helvetica-Bold').fontSize(12).text(pdfSafe(t.heading), MARGIN, doc.y, { lineBreak: false });
  doc.y += 18;
  if (!t.rows.length) {
    doc.font('Helvetica-Oblique').fontSize(FONT_SIZE + 1).fillColor('#5b6475').text('None.', MARGIN, doc.y, { lineBreak: false });
    doc.y += 22;
    return;
  }
  const ws = widths(doc, t, usable);
  const tableWidth = ws.reduce((a, b) => a + b, 0);
  header(doc, t, ws);
  t.rows.forEach((r, n) => {
    if (ensureRoom(doc, ROW_H)) header(doc, t, ws);
    const y = doc.y;
    if (n % 2 === 1) doc.rect(MARGIN, y, tableWidth, ROW_H).fill('#f6f8fb');
    doc.fillColor('#1d2330').font('Helvetica').fontSize(FONT_SIZE);
    let x = MARGIN;
    r.forEach((v, i) => {
      cell(doc, displayCell(v), x, y, ws[i]!, typeof v === 'number');
      x += ws[i]!;
    });
    doc.y = y + ROW_H;
  });
  if (t.note) {
    doc.font('Helvetica-Oblique').fontSize(FONT_SIZE).fillColor('#5b6475').text(pdfSafe(t.note), MARGIN, doc.y + 3, { lineBreak: false });
    doc.y += 6;
  }
  doc.y += 16;
}

function figures(doc: Doc, report: ReportDoc) {
  const usable = doc.page.width - 2 * MARGIN;
  const perRow = Math.min(report.headline.length, 5);
  const w = usable / perRow;
  report.headline.forEach((f, i) => {
    if (i > 0 && i % perRow === 0) doc.y += 44;
    const x = MARGIN + (i % perRow) * w;
    const y = doc.y;
    doc.rect(x + 2, y, w - 4, 38).lineWidth(0.5).strokeColor('#c9d2e0').stroke();
    doc.fillColor('#2f5da8').font('Helvetica-Bold').fontSize(14).text(fit(doc, pdfSafe(f.value), w - 16), x + 8, y + 5, { lineBreak: false });
    doc.fillColor('#5b6475').font('Helvetica').fontSize(7.5).text(fit(doc, pdfSafe(f.label).toUpperCase(), w - 16), x + 8, y + 25, { lineBreak: false });
    doc.y = y;
  });
  doc.y += 56;
}

export function renderPdf(report: ReportDoc): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4', layout: 'landscape', margin: MARGIN, bufferPages: true,
      info: { Title: pdfSafe(`${report.title} - ${report.tenant.name}`), Author: 'Countersign', Subject: pdfSafe(report.tenant.slug) },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    try {
      doc.fillColor('#1d2330').font('Helvetica-Bold').fontSize(22).text(pdfSafe(report.title), MARGIN, MARGIN);
      doc.font('Helvetica').fontSize(11).fillColor('#5b6475')
        .text(pdfSafe(`${report.tenant.name} (${report.tenant.slug})  -  generated ${humanTime(report.generatedAt)}`), MARGIN, doc.y + 2);
      doc.moveTo(MARGIN, doc.y + 6).lineTo(doc.page.width - MARGIN, doc.y + 6).lineWidth(2).strokeColor('#2f5da8').stroke();
      doc.y += 18;
      figures(doc, report);
      for (const t of report.sections) table(doc, t);
      const range = doc.bufferedPageRange();
      for (let i = range.start; i < range.start + range.count; i++) {
        doc.switchToPage(i);
        const margins = doc.page.margins.bottom;
        doc.page.margins.bottom = 0; // writing inside the bottom margin must not add a page
        doc.font('Helvetica').fontSize(8).fillColor('#8a93a3').text(
          pdfSafe(`${report.title} - ${report.tenant.name} - ${humanTime(report.generatedAt)}  |  page ${i - range.start + 1} of ${range.count}`),
          MARGIN, doc.page.height - MARGIN - 10, { lineBreak: false },
        );
        doc.page.margins.bottom = margins;
      }
      doc.end();
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
