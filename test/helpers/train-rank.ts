// Trains a config in this process as `epsilab run` does, as the rank its environment (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) names: `node train-rank.js <config> <run folder>`; exits with the run's code.
import { trainConfig } from './tiny-run.js';

const [file, runDir] = process.argv.slice(2);
const { code, lines } = await trainConfig(file, runDir);
for (const line of lines) console.log(line);
process.exitCode = code;
