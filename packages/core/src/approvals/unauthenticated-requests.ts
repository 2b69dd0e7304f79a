import type { Logger } from "../support/logger";

/**
 * Where unauthenticated requests are refused: a Slack interaction whose signature does not check out, or a call
 * to the local server without its access token.
 */
export const UNAUTHENTICATED_SOURCES = ["slack-signature", "serve-token"] as const;
export type UnauthenticatedSource = (typeof UNAUTHENTICATED_SOURCES)[number];

export interface UnauthenticatedRequestsOptions {
  logger: Logger;
  now: () => Date;
  /** At most one warning per source per window; the next warning says how many were not logged. Default a minute. */
  warnEveryMs?: number;
  /** Called for every refusal, e.g. to emit a CloudWatch metric (see emfMetricLine). */
  onRecord?(source: UnauthenticatedSource): void;
}

export const DEFAULT_UNAUTHENTICATED_WARN_EVERY_MS = 60_000;

/**
 * Counts requests refused before anyone was authenticated. They are deliberately NOT audit-log entries: the log
 * cannot be shortened, so if anyone on the internet could append to it by sending garbage, they could grow it
 * without bound. They are counted (a metric, and a counter the local server shows) and logged to the ordinary
 * application log, rate-limited so a flood cannot flood that log either. A request from an authenticated person
 * who may not decide is different: that is an `unauthorised-attempt` audit entry.
 */
export class UnauthenticatedRequests {
  private readonly counts = new Map<UnauthenticatedSource, number>();
  private readonly lastWarned = new Map<UnauthenticatedSource, number>();
  private readonly suppressed = new Map<UnauthenticatedSource, number>();
  private readonly warnEveryMs: number;

  constructor(private readonly options: UnauthenticatedRequestsOptions) {
    this.warnEveryMs = options.warnEveryMs ?? DEFAULT_UNAUTHENTICATED_WARN_EVERY_MS;
  }

  /** `reason` is ours (why the request was refused), never the request's content. */
  record(source: UnauthenticatedSource, reason: string): void {
    this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
    this.options.onRecord?.(source);
    const now = this.options.now().getTime();
    const last = this.lastWarned.get(source);
    if (last !== undefined && now - last < this.warnEveryMs) {
      this.suppressed.set(source, (this.suppressed.get(source) ?? 0) + 1);
      return;
    }
    const notLogged = this.suppressed.get(source) ?? 0;
    this.lastWarned.set(source, now);
    this.suppressed.set(source, 0);
    this.options.logger.warn("refused an unauthenticated request (not written to the audit log)", {
      source,
      reason,
      total: this.counts.get(source),
      ...(notLogged > 0 ? { notLoggedSinceLastWarning: notLogged } : {}),
    });
  }

  /** Refusals per source since this process started. */
  snapshot(): Record<UnauthenticatedSource, number> {
    return Object.fromEntries(UNAUTHENTICATED_SOURCES.map((source) => [source, this.counts.get(source) ?? 0])) as Record<
      UnauthenticatedSource,
      number
    >;
  }
}

export const UNAUTHENTICATED_METRIC = { namespace: "hipaa-remediate", name: "UnauthenticatedRequests" } as const;

/**
 * One CloudWatch Embedded Metric Format record: printed as a line of a Lambda's log, CloudWatch turns it into the
 * metric `hipaa-remediate/UnauthenticatedRequests` (dimension Source) without any API call or extra permission.
 */
export function emfMetricLine(source: UnauthenticatedSource, at: Date): string {
  return JSON.stringify({
    _aws: {
      Timestamp: at.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: UNAUTHENTICATED_METRIC.namespace,
          Dimensions: [["Source"]],
          Metrics: [{ Name: UNAUTHENTICATED_METRIC.name, Unit: "Count" }],
        },
      ],
    },
    Source: source,
    [UNAUTHENTICATED_METRIC.name]: 1,
  });
}
