import type { ServerResponse } from "node:http";
import { z } from "zod";
import {
  buildComplianceReport,
  entryInContext,
  errorFields,
  firstIssue,
  hipaaSections,
  normaliseExpiry,
  queryLog,
  STAGES,
  verifyChain,
  writeLog,
  LOG_EXPORT_FORMATS,
  renderReportCsv,
  renderReportHtml,
  renderReportJson,
  type EngineDeps,
  type LogFilter,
  type LogPageCursor,
} from "@hipaa-remediate/core";
import { TOOL_VERSION } from "../report/version";
import { HttpError, send, sendJson } from "./http";

export const AUDIT_API_PREFIX = "/api/audit/";
/** The report's stylesheet as a file, for the page's embedded report (its CSP refuses inline styles). */
export const REPORT_STYLESHEET_PATH = "/report.css";

/** Where the report says its data came from. */
export interface AuditContext {
  store: string;
  policySource: string;
}

const PAGE_LIMIT_MAX = 200;

const isoDay = (field: "from" | "to") =>
  z.string().transform((text, ctx) => {
    const normalised = normaliseExpiry(text);
    if (normalised === undefined) {
      ctx.addIssue({ code: "custom", message: `expected a date (2026-11-30) or a date-time with a zone, got "${text}"` });
      return z.NEVER;
    }
    // A bare date: `from` starts the day, `to` includes it (the period ends where the next day begins).
    if (/^\d{4}-\d{2}-\d{2}$/.test(text))
      return field === "from" ? new Date(`${text}T00:00:00.000Z`) : new Date(Date.parse(normalised) + 1);
    return new Date(normalised);
  });

/** A form's empty field means "not given", as an absent one does. */
const blankAsAbsent = <T extends z.ZodType>(schema: T) => schema.optional().or(z.literal("").transform(() => undefined));

const optionalText = z
  .string()
  .trim()
  .max(500)
  .optional()
  .transform((value) => (value ? value : undefined));

const entriesQuerySchema = z
  .object({
    section: optionalText,
    control: optionalText,
    resource: optionalText,
    actor: optionalText,
    stage: blankAsAbsent(z.enum(STAGES)),
    from: blankAsAbsent(isoDay("from")),
    to: blankAsAbsent(isoDay("to")),
    after: z.coerce.number().int().min(0).optional(),
    /** The page just before this seq: "Previous page". */
    before: z.coerce.number().int().min(1).optional(),
    /** The newest page: "Last page". */
    last: z.enum(["1", "true"]).optional(),
    limit: z.coerce.number().int().min(1).max(PAGE_LIMIT_MAX).default(50),
  })
  .refine((query) => [query.after, query.before, query.last].filter((cursor) => cursor !== undefined).length <= 1, {
    message: "give at most one of after, before and last",
    path: ["after"],
  });

const reportQuerySchema = z.object({
  format: z.enum(["html", "csv", "json"]).default("html"),
  /** `embedded`: the HTML links its stylesheet, for the page's iframe; otherwise one self-contained file. */
  view: z.enum(["embedded", "file"]).default("file"),
  from: blankAsAbsent(isoDay("from")),
  to: blankAsAbsent(isoDay("to")),
});

const exportQuerySchema = z.object({ format: z.enum(LOG_EXPORT_FORMATS).default("json") });

const ENTRY_ROUTE = /^\/api\/audit\/entries\/(\d+)$/;

/**
 * The auditor view's read-only API, under /api/audit/. The server routes here only after its guards (token, Host,
 * Origin) passed. Paging is done by queryLog, a streaming pass over the log from a keyset cursor (`after` or `before`, a
 * seq, or `last`), so a page costs the entries it examines, never the whole log; the log port needed no new read method.
 */
export async function handleAuditRequest(engine: EngineDeps, context: AuditContext, url: URL, response: ServerResponse): Promise<void> {
  const path = url.pathname;
  const query = Object.fromEntries(url.searchParams);
  if (path === `${AUDIT_API_PREFIX}facets`) {
    const head = await engine.log.head();
    sendJson(response, 200, {
      stages: STAGES,
      sections: hipaaSections().map(({ id, name }) => ({ id, name })),
      controls: engine.index.controls.map((c) => ({ id: c.id, title: c.title })),
      head: head ? { seq: head.seq, hash: head.hash } : null,
    });
    return;
  }
  if (path === `${AUDIT_API_PREFIX}entries`) {
    const parsed = parse(entriesQuerySchema, query);
    const filter: LogFilter = {
      ...(parsed.section ? { section: parsed.section } : {}),
      ...(parsed.control ? { control: parsed.control } : {}),
      ...(parsed.resource ? { resource: parsed.resource } : {}),
      ...(parsed.actor ? { actor: parsed.actor } : {}),
      ...(parsed.stage ? { stage: parsed.stage } : {}),
      ...(parsed.from ? { from: parsed.from } : {}),
      ...(parsed.to ? { to: parsed.to } : {}),
    };
    const page = await queryLog(engine.log, { filter, limit: parsed.limit, ...pageCursor(parsed) });
    sendJson(response, 200, page);
    return;
  }
  const entry = ENTRY_ROUTE.exec(path);
  if (entry?.[1]) {
    const found = await entryInContext(engine.log, Number(entry[1]));
    if (!found) throw new HttpError(404, `there is no log entry ${entry[1]}`);
    sendJson(response, 200, found);
    return;
  }
  if (path === `${AUDIT_API_PREFIX}chain`) {
    const report = await verifyChain(engine.log.read());
    sendJson(response, 200, report);
    return;
  }
  if (path === `${AUDIT_API_PREFIX}report`) {
    const parsed = parse(reportQuerySchema, query);
    const report = await buildComplianceReport(
      {
        log: engine.log,
        proposals: engine.proposals,
        ...(engine.exemptions ? { exemptions: engine.exemptions } : {}),
        policy: engine.policy,
        controls: engine.index.controls,
      },
      {
        now: engine.now(),
        toolVersion: TOOL_VERSION,
        store: context.store,
        policySource: context.policySource,
        ...(parsed.from ? { since: parsed.from } : {}),
        ...(parsed.to ? { until: parsed.to } : {}),
      },
    );
    const stamp = report.header.generatedAt.slice(0, 10);
    switch (parsed.format) {
      case "html":
        send(
          response,
          200,
          "text/html; charset=utf-8",
          renderReportHtml(report, parsed.view === "embedded" ? { stylesheet: { href: REPORT_STYLESHEET_PATH } } : {}),
          attachment(`hipaa-report-${stamp}.html`, parsed.view),
        );
        return;
      case "csv":
        send(response, 200, "text/csv; charset=utf-8", renderReportCsv(report), attachment(`hipaa-report-${stamp}.csv`, "file"));
        return;
      case "json":
        send(response, 200, "application/json; charset=utf-8", renderReportJson(report), attachment(`hipaa-report-${stamp}.json`, "file"));
        return;
    }
  }
  if (path === `${AUDIT_API_PREFIX}export`) {
    const { format } = parse(exportQuerySchema, query);
    const types = { json: "application/json", jsonl: "application/x-ndjson", csv: "text/csv" } as const;
    response.writeHead(200, {
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "content-type": `${types[format]}; charset=utf-8`,
      "content-disposition": `attachment; filename="hipaa-remediate-log.${format}"`,
    });
    try {
      await writeLog(engine.log.read(), response, format);
    } catch (error) {
      // Headers are gone: cut the download short so a partial file never looks complete.
      engine.logger.error("log export failed part way", { error: errorFields(error) });
      response.destroy(error instanceof Error ? error : undefined);
      return;
    }
    response.end();
    return;
  }
  throw new HttpError(404, `no route GET ${path}`);
}

function pageCursor(query: { after?: number | undefined; before?: number | undefined; last?: string | undefined }): LogPageCursor {
  if (query.last) return { last: true };
  if (query.before !== undefined) return { beforeSeq: query.before };
  return query.after !== undefined ? { afterSeq: query.after } : {};
}

function attachment(filename: string, view: "embedded" | "file"): Record<string, string> {
  return view === "file" ? { "content-disposition": `attachment; filename="${filename}"` } : {};
}

function parse<T extends z.ZodType>(schema: T, query: Record<string, string>): z.output<T> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error, "query");
  throw new HttpError(400, `${field}: ${message}`, { field, cause: result.error });
}
