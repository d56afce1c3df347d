import { jest } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { CronJob } from 'cron';

/**
 * The apps' jobs for `name`, their own timers stopped: the test fires each tick itself, at the time
 * it chooses, instead of waiting for the clock.
 */
export async function takeOverJobs(apps: readonly INestApplicationContext[], name: string): Promise<CronJob[]> {
  const jobs = apps.map((app) => app.get(SchedulerRegistry).getCronJob(name));
  for (const job of jobs) await job.stop();
  return jobs;
}

/**
 * Fires a job as its timer would when the clock reads `at`. Only Date is faked, and only while the job
 * reads it (the tick is taken from it synchronously): the database driver's timers stay real.
 */
export function fireTick(job: CronJob, at: string): void {
  jest.useFakeTimers({
    now: new Date(at),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  try {
    void job.fireOnTick();
  } finally {
    jest.useRealTimers();
  }
}
