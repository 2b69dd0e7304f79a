import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { SignedSlackRequest } from "./slack-signing";

/** What API Gateway's HTTP API hands the Slack interactivity function: lower-cased headers, the body base64-encoded. */
export function httpApiEvent(request: SignedSlackRequest, at: Date = new Date()): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /slack/interactivity",
    rawPath: "/slack/interactivity",
    rawQueryString: "",
    headers: Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key.toLowerCase(), value])),
    requestContext: {
      accountId: "123456789012",
      apiId: "api0",
      domainName: "api0.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "api0",
      http: { method: "POST", path: "/slack/interactivity", protocol: "HTTP/1.1", sourceIp: "3.3.3.3", userAgent: "Slackbot 1.0" },
      requestId: `req-${at.getTime()}`,
      routeKey: "POST /slack/interactivity",
      stage: "$default",
      time: at.toUTCString(),
      timeEpoch: at.getTime(),
    },
    body: Buffer.from(request.rawBody, "utf8").toString("base64"),
    isBase64Encoded: true,
  };
}
