import type { ComplianceReport } from "../model";

/** Bumped when a field changes meaning or goes away; new fields may appear without a bump. */
export const REPORT_JSON_SCHEMA_VERSION = 1;

/** The report model as JSON, for GRC tools: the same figures as the HTML and CSV, and the entries behind them. */
export function renderReportJson(report: ComplianceReport): string {
  return `${JSON.stringify({ schemaVersion: REPORT_JSON_SCHEMA_VERSION, ...report }, null, 2)}\n`;
}
