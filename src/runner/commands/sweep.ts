import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { planSweepLines } from '../../sweep/plan.js';
import { EXIT, type Command } from '../command.js';
import { expectFileKind } from '../file-kind.js';
import { UsageError } from '../../util/errors.js';

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'Run every trial of a sweep file (grid, zip, trials, seeds) locally or on Slurm; running it again resumes',
  usage: `epsilab sweep <sweep.yaml> [--resume] [--no-wait] [--status]

Expands the sweep into trials (base config + overrides + seed), validates every one before anything runs, and
runs those not done with the sweep's executor: local child processes (executor.max_parallel at once) or Slurm
(one sbatch job array, followed with squeue/scontrol). Each trial runs \`epsilab run\` in its own folder
<output.root>/<sweep>/<trial-id>/ (the id derives from the resolved config, seed included); ledger.json in the
sweep folder records every trial's state, and the folder is a TensorBoard logdir with an HParams table.

On Slurm a job warned of its time limit (requeue_signal) checkpoints and requeues its array task; a PREEMPTED
or TIMEOUT one is requeued by the sweep (max_requeues each). retries: N runs an infrastructure failure again;
fail_fast: true cancels the rest at the first failure. search: random draws trials; asha: stops weak trials early.

Running the sweep again resumes it: finished trials are not run again, failed and cancelled ones are, trials
added to the grid are new, and an interrupted trial continues from its checkpoint. Ctrl-C or SIGTERM cancels
the running trials (they checkpoint) and records them cancelled.

Options:
  --resume    the same as running it again (for clarity in scripts)
  --no-wait   Slurm: return once the trials are submitted; run the sweep again to follow them
  --status    print each trial's state and last reason (its outcome, latest requeue or ASHA rung), attempts and
              requeues from the ledger; run nothing
Exit codes: 0 all trials done (or submitted with --no-wait), 1 some trial failed or was cancelled, 2 bad sweep
file or config, 130 interrupted.`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        resume: { type: 'boolean', default: false },
        'no-wait': { type: 'boolean', default: false },
        status: { type: 'boolean', default: false },
      },
    });
    if (positionals.length !== 1) throw new UsageError('sweep takes exactly one sweep file');
    await expectFileKind(positionals[0], ['sweep file']);
    if (values.status) {
      for (const line of await planSweepLines(positionals[0])) console.log(line);
      return EXIT.ok;
    }
    // Loaded here, not at the top: the executors (execa, Slurm, progress bars) take time that `epsilab --help` need not pay.
    const { runSweep } = await import('../../sweep/run-sweep.js');
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        console.error(
          `${signal} again: quitting now; the trials finish their checkpoint alone, and the next sweep run takes them over`,
        );
        process.exit(EXIT.interrupted);
      }
      console.error(
        `${signal}: cancelling the running trials (they write a checkpoint first; press again to quit at once)`,
      );
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const wait = !values['no-wait'];
      const s = await runSweep({ file: positionals[0], cancel: controller.signal, wait });
      const c = s.counts;
      console.log(
        `${relative(process.cwd(), s.dir) || '.'}/: ${c.done} done, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.pending} pending`,
      );
      if (controller.signal.aborted) return EXIT.interrupted;
      if (c.failed || c.cancelled) return EXIT.failed;
      return c.done === s.entries.length || !wait ? EXIT.ok : EXIT.failed;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
