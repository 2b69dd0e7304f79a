import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeFromContext, loadSlackContext, parseSlackContext, SlackContextError, slackContextFor } from "@hipaa-remediate/core";
import { controls } from "@hipaa-remediate/remediations";
import { describe, expect, it } from "vitest";

describe("the Slack endpoint's context file", () => {
  const context = slackContextFor({ users: ["U0APPROVER1"], userGroups: ["S0GROUP1234"] }, controls);

  it("round-trips through JSON and names every control as the registry does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "slack-context-"));
    const file = join(dir, "slack-context.json");
    writeFileSync(file, JSON.stringify(context));
    const loaded = await loadSlackContext(file);
    expect(loaded).toEqual(context);
    const describeControl = describeFromContext(loaded);
    for (const control of controls) {
      expect(describeControl(control.id)).toEqual({ id: control.id, title: control.title, hipaa: control.hipaa });
    }
    expect(describeControl("retired-control")).toBeUndefined();
  });

  it("keeps only what a message shows", () => {
    const [first] = context.controls;
    expect(Object.keys(first ?? {}).sort()).toEqual(["hipaa", "id", "title"]);
  });

  it("names the field at fault, and says how to fix it", () => {
    const broken = JSON.stringify({ ...context, approvers: { users: "U0APPROVER1", userGroups: [] } });
    expect(() => parseSlackContext(broken, "ctx.json")).toThrow(SlackContextError);
    expect(() => parseSlackContext(broken, "ctx.json")).toThrow(/^ctx\.json: approvers\.users: .*; redeploy to regenerate it$/);
    expect(() => parseSlackContext("{", "ctx.json")).toThrow("ctx.json: not JSON; redeploy to regenerate it");
  });

  it("reports a missing file with its path and keeps the cause", async () => {
    const error = await loadSlackContext("/nonexistent/slack-context.json").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SlackContextError);
    expect((error as SlackContextError).message).toBe("cannot read the Slack context file /nonexistent/slack-context.json");
    expect((error as SlackContextError).cause).toMatchObject({ code: "ENOENT" });
  });
});
