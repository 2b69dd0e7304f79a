// The report's three renderings, free of the CLI: `report`, the audit page and the scheduled risk assessment share them.
export { renderReportHtml, type HtmlReportOptions } from "./html";
export { renderReportCsv, REPORT_CSV_COLUMNS } from "./csv";
export { renderReportJson, REPORT_JSON_SCHEMA_VERSION } from "./json";
export { REPORT_STYLE } from "./html-style";
