import { ensureMotoInstalled, MOTO_REQUIREMENT, venvDir } from "./moto-server";

ensureMotoInstalled();
console.log(`${MOTO_REQUIREMENT} ready in ${venvDir}`);
