/**
 * The report's stylesheet. Print rules: A4 pages, table headers repeated on each page, rows and cards never split,
 * long ARNs wrapped rather than clipped, colours kept so the charts and status boxes print as they look.
 */
export const REPORT_STYLE = `
:root { --ok: #1a7f37; --bad: #b42318; --line: #d0d7de; --muted: #57606a; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #fff; margin: 0; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .75rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; }
h4 { font-size: .95rem; margin: .75rem 0 .25rem; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
a { color: #0969da; }
.lede { font-size: 1rem; max-width: 52rem; }
.muted, .note { color: var(--muted); }
.note { font-size: .9rem; }
.empty { color: var(--muted); font-style: italic; }
.gap { color: #9a6700; font-weight: 600; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
.facts dt { font-weight: 600; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.status { padding: .6rem .9rem; border-radius: 6px; border-left: 6px solid; }
.status.ok { border-color: var(--ok); background: #dafbe1; }
.status.bad { border-color: var(--bad); background: #ffebe9; }
.tiles { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(4, 1fr); gap: .6rem; }
.tiles li { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .75rem; display: flex; flex-direction: column; }
.tiles .value { font-size: 1.45rem; font-weight: 700; }
.tiles .label { font-weight: 600; }
.tiles .note { font-size: .8rem; }
.chart { margin: .25rem 0 1rem; }
.chart > svg { display: block; max-width: 100%; height: auto; }
.chart .tick { font-size: 11px; fill: #57606a; }
.chart .axis-title { font-size: 11px; fill: #57606a; }
.legend { list-style: none; padding: 0; margin: .25rem 0 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-size: .85rem; }
.legend li { white-space: nowrap; }
.legend svg { display: inline; vertical-align: -1px; margin-right: .3rem; }
table { width: 100%; border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; table-layout: fixed; }
th, td { border: 1px solid var(--line); padding: .3rem .45rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--soft); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.arn { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .8em; }
td.seqs { font-size: .8em; color: var(--muted); }
.overview .c-section { width: 17%; } .overview .c-controls { width: 21%; } .overview .c-num { width: 6.5%; }
.overview .c-ttr { width: 12%; } .overview .c-sweep { width: 11%; }
.nowrap { white-space: nowrap; }
th.num { text-align: right; }
thead th { overflow-wrap: normal; hyphens: manual; }
.overview td code { font-size: .8em; }
.findings .c-seq { width: 6%; } .findings .c-time { width: 13%; } .findings .c-control { width: 18%; }
.findings .c-resource { width: 22%; } .findings .c-outcome { width: 22%; } .findings .c-ttr { width: 11%; } .findings .c-entries { width: 8%; }
.section-card { border: 1px solid var(--line); border-radius: 8px; padding: .25rem 1rem .5rem; margin: .75rem 0; }
.section-card ul { margin: .25rem 0; padding-left: 1.25rem; }
.outcomes { display: flex; flex-wrap: wrap; gap: .1rem 1.5rem; list-style: none; padding-left: 0 !important; }
.glossary { display: grid; grid-template-columns: 14rem 1fr; gap: .3rem 1rem; }
.glossary dt { font-weight: 600; }
.glossary dd { margin: 0; }
@media (max-width: 48rem) { .tiles { grid-template-columns: repeat(2, 1fr); } }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3, h4 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8pt; }
  thead { display: table-header-group; }
  tr, .tiles li, .chart, .section-card, .status { break-inside: avoid; page-break-inside: avoid; }
  #charts, #overview, #details, #findings, #glossary { break-before: page; page-break-before: always; }
  .tiles { grid-template-columns: repeat(4, 1fr); }
}
`;
