import type { TagConventions } from "../controls/contract";
import type { Policy } from "./schema";

/** The policy's tag conventions in the shape controls receive them. Copies, so no control can change the policy. */
export function tagConventions(policy: Pick<Policy, "tags">): TagConventions {
  const { phi, environment, breakGlassRoles } = policy.tags;
  return {
    phi: { keys: [...phi.keys], values: [...phi.values] },
    environment: { keys: [...environment.keys], nonProduction: [...environment.nonProduction] },
    breakGlassRoles: [...breakGlassRoles],
  };
}
