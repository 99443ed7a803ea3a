// Trains a config in this process as `epsilab run` does, as the rank its environment (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT) names: `node train-rank.js <config> <run folder>`; prints each log line as it comes and exits with the
// run's code (SIGTERM stops it after the current step with a checkpoint, as it does `epsilab run`).
import { trainConfig } from './tiny-run.js';

const [file, runDir] = process.argv.slice(2);
const { code } = await trainConfig(file, runDir, (line) => console.log(line));
process.exitCode = code;
