import { describeControlPipelines, scenarioShard } from "../support/control-pipeline-suite";
import { useMoto } from "../support/moto";

// Shard 1 of 4 of every control's EventBridge -> SQS -> engine handler suite (see test/support/control-pipeline-suite.ts).
describeControlPipelines(useMoto(), await scenarioShard(1, 4));
