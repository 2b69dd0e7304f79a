import { ensureParliamentInstalled, PARLIAMENT_REQUIREMENT } from "./iam-linter";
import { ensureMotoInstalled, MOTO_REQUIREMENT, venvDir } from "./moto-server";

ensureMotoInstalled();
ensureParliamentInstalled();
console.log(`${MOTO_REQUIREMENT} and ${PARLIAMENT_REQUIREMENT} ready in ${venvDir}`);
