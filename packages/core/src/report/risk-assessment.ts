import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Policy } from "../policy/schema";
import type { RateLimiter } from "../policy/rate-limiter";
import type { EngineDeps } from "../runner/deps";
import { inMemoryGuard } from "../runner/idempotency";
import { runSweep } from "../runner/sweep";
import { buildComplianceReport } from "./build";
import type { ComplianceReport } from "./model";
import { renderReportCsv, renderReportHtml, renderReportJson } from "./render";

/**
 * The scheduled risk analysis of 45 CFR 164.308(a)(1)(ii)(A): a full-account assessment (the sweep, in dry-run
 * whatever the policy says) followed by the HIPAA evidence report over the deployed stores, kept in a bucket of
 * its own. The assessment records itself in the remediation log like any sweep, so the report's posture is the
 * assessment's own.
 */

/** Where assessments land in the reports bucket: `risk-assessments/YYYY/MM/DD/<assessment id>/report.<ext>`. */
export const RISK_ASSESSMENT_PREFIX = "risk-assessments/";

const RENDERINGS = [
  { file: "report.html", contentType: "text/html; charset=utf-8", render: renderReportHtml },
  { file: "report.json", contentType: "application/json", render: renderReportJson },
  { file: "report.csv", contentType: "text/csv; charset=utf-8", render: renderReportCsv },
] as const satisfies readonly { file: string; contentType: string; render(report: ComplianceReport): string }[];

export class RiskAssessmentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RiskAssessmentError";
  }
}

/** Where reports are written; an object is written once under a key of its own and never read back by the writer. */
export interface ReportObjectStore {
  readonly location: string;
  put(key: string, body: string, contentType: string): Promise<void>;
}

export class S3ReportObjectStore implements ReportObjectStore {
  readonly location: string;

  constructor(private readonly options: { client: S3Client; bucket: string }) {
    this.location = `s3://${options.bucket}/`;
  }

  async put(key: string, body: string, contentType: string): Promise<void> {
    try {
      await this.options.client.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }));
    } catch (error) {
      throw new RiskAssessmentError(`cannot store ${this.location}${key}`, { cause: error });
    }
  }
}

/**
 * The policy with every way to change a resource taken out: every mode, every override and the default are
 * dry-run, and the kill switch is engaged with a dry-run fallback, so no rule later in `decide` can bring a fix back.
 * Exemptions and disabled controls still apply, so the findings are decided as the engine would decide them.
 */
export function dryRunOnly(policy: Policy): Policy {
  const controls: Policy["controls"] = {};
  for (const [id, settings] of Object.entries(policy.controls)) controls[id] = { ...settings, mode: "dry-run" };
  return {
    ...policy,
    defaultMode: "dry-run",
    controls,
    overrides: policy.overrides.map((override) => ({ ...override, mode: "dry-run" })),
    killSwitch: { engaged: true, fallback: "dry-run" },
  };
}

/** An assessment never fixes anything automatically, so it neither reads nor takes from the shared rate limit. */
export const NO_AUTOMATIC_FIXES: RateLimiter = {
  countInWindow: async () => 0,
  tryAcquire: async () => false,
};

export interface RiskAssessmentDeps {
  /** The engine's stores, clients and the policy as deployed; the assessment forces it to dry-run. */
  engine: EngineDeps;
  reports: ReportObjectStore;
  toolVersion: string;
  /** Where the stores are, for the report header, e.g. `dynamodb:us-east-1/<log table>`. */
  store: string;
  policySource: string;
}

export interface RiskAssessmentResult {
  assessmentId: string;
  sweepId: string;
  resources: number;
  findings: number;
  sweepFailures: number;
  chainOk: boolean;
  /** The stored objects, as `s3://bucket/key`. */
  objects: string[];
}

/**
 * Runs one assessment and stores its report. The sweep runs with dry-run-only policy, no notifier, no deferrals,
 * no shared rate limit and an in-memory idempotency guard, so it changes nothing in the account and writes nothing
 * but its own log entries. The report shows the controls' modes under the real policy: that is what is enforced.
 * A log that fails verification is stored in the report first, then raised, so the failure alarms as well.
 */
export async function runRiskAssessment(deps: RiskAssessmentDeps, options: { assessmentId: string }): Promise<RiskAssessmentResult> {
  const assessmentId = safeId(options.assessmentId);
  const { notifier: _notifier, deferrals: _deferrals, ...engine } = deps.engine;
  const sweep = await runSweep(
    { ...engine, policy: dryRunOnly(deps.engine.policy), guard: inMemoryGuard(), rateLimiter: NO_AUTOMATIC_FIXES },
    { sweepId: `risk-assessment:${assessmentId}` },
  );
  const now = engine.now();
  const report = await buildComplianceReport(
    {
      log: engine.log,
      proposals: engine.proposals,
      ...(engine.exemptions ? { exemptions: engine.exemptions } : {}),
      policy: deps.engine.policy,
      controls: engine.index.controls,
    },
    { now, toolVersion: deps.toolVersion, store: deps.store, policySource: deps.policySource },
  );
  const folder = `${RISK_ASSESSMENT_PREFIX}${now.toISOString().slice(0, 10).replaceAll("-", "/")}/${assessmentId}/`;
  const objects: string[] = [];
  for (const rendering of RENDERINGS) {
    await deps.reports.put(`${folder}${rendering.file}`, rendering.render(report), rendering.contentType);
    objects.push(`${deps.reports.location}${folder}${rendering.file}`);
  }
  const result: RiskAssessmentResult = {
    assessmentId,
    sweepId: sweep.sweepId,
    resources: sweep.resources,
    findings: sweep.findings.length,
    sweepFailures: sweep.failures.length,
    chainOk: report.header.chain.ok,
    objects,
  };
  if (!result.chainOk) {
    const bad = report.header.chain.firstBad;
    throw new RiskAssessmentError(
      `the remediation log FAILED verification${bad ? ` at entry ${bad.seq} (${bad.problem})` : ""}; the assessment's report is stored at ${objects.join(", ")}`,
    );
  }
  return result;
}

/** An id safe as one S3 key segment (schedule event ids are UUIDs; anything else is reduced to the same alphabet). */
function safeId(id: string): string {
  const safe = id.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 128);
  if (safe === "") throw new RiskAssessmentError(`an assessment id needs letters or digits, got "${id}"`);
  return safe;
}
