import { describeControlPipelines, scenarioShard } from "../support/control-pipeline-suite";
import { useMoto } from "../support/moto";

// Shard 3 of 4 of every control's EventBridge -> SQS -> engine handler suite (see test/support/control-pipeline-suite.ts).
describeControlPipelines(useMoto(), await scenarioShard(3, 4));
