import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { projectRoot } from '../../src/util/paths.js';
import { tempDir } from './tmp.js';

const TOOLS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel'];
const onPath = (tool: string) =>
  [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].some((d) => {
    try {
      accessSync(join(d, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const missing = TOOLS.filter((t) => !onPath(t));

/** Why a test of the real one-node Slurm cannot run here, or false when it can. */
export const noSlurm: string | false = missing.length
  ? `Slurm is not installed (no ${missing.join(', ')}): apt-get install slurm-wlm slurmctld slurmd slurm-client munge`
  : process.getuid?.() !== 0
    ? 'starting a local Slurm (munged, slurmd) needs root'
    : false;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const scripts = join(projectRoot(), 'scripts', 'slurm');

/** A one-node Slurm on free ports with its state in a temp folder; `env` has its SLURM_CONF. */
export async function startSlurm(): Promise<{ env: NodeJS.ProcessEnv; stop: () => Promise<void> }> {
  const state = tempDir('slurm');
  const env = { ...process.env, SLURM_CONF: join(state, 'slurm.conf') };
  const ports = { SLURM_LOCAL_CTLD_PORT: String(await freePort()), SLURM_LOCAL_D_PORT: String(await freePort()) };
  await execa(join(scripts, 'start-local.sh'), [state], { env: { ...process.env, ...ports } });
  return { env, stop: async () => void (await execa(join(scripts, 'stop-local.sh'), [state], { reject: false })) };
}
