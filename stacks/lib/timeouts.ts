import { Duration } from "aws-cdk-lib";

/**
 * Function timeouts that queues depend on: each queue's visibility timeout is derived from its consumer's timeout,
 * so both sides read them from here.
 */
export const ENGINE_TIMEOUT = Duration.minutes(2);
export const APPROVAL_WORKER_TIMEOUT = Duration.minutes(2);
/** Slack wants the HTTP answer within 3 seconds; the margin covers a cold start. */
export const SLACK_INTERACTIVITY_TIMEOUT = Duration.seconds(10);
/** A full-account sweep lists every resource of every control; Lambda's maximum. */
export const SWEEP_TIMEOUT = Duration.minutes(15);
/** Expiring and reminding pending proposals: a handful of DynamoDB and Slack calls per proposal. */
export const PROPOSAL_HOUSEKEEPING_TIMEOUT = Duration.minutes(2);
/** One Query and one PutObject. */
export const LOG_ANCHOR_TIMEOUT = Duration.minutes(1);
/** Reads every entry since the last export; a day's entries, or the whole log on the first run. */
export const LOG_EXPORT_TIMEOUT = Duration.minutes(15);
