// pi-seed plan: what differs between cluster.yaml and the running cluster, read through the API
// server as a short-lived admin (as status does), in the order a change would be made. Exit 0:
// nothing to do; 1: changes, problems, or no answer (like diff). docs/day-2.md.
import { EXIT_INVALID, EXIT_OK, type Io } from '../cli-io.js';
import { observe } from '../day2/observe.js';
import { formatPlan, planJson } from '../day2/format.js';
import { formatProblem, reportingProblems } from '../emit/problem-error.js';
import { clusterAccess } from '../kube/access.js';
import { ApiUnavailable } from '../kube/api-client.js';

export interface PlanOptions {
  config: string;
  json: boolean;
  server?: string;
  /** Per-request deadline (tests). */
  timeoutMs?: number;
}

export function runPlan(options: PlanOptions, io: Io): Promise<number> {
  return reportingProblems(io, async () => {
    const access = clusterAccess(options.config, options.server, io, 'plan reads the cluster with a certificate signed by the cluster CA that `pi-seed build` creates');
    if (!access) return EXIT_INVALID;
    let observed;
    try {
      observed = await observe(access, options.timeoutMs);
    } catch (err) {
      if (!(err instanceof ApiUnavailable)) throw err;
      io.err(formatProblem(err.problem));
      return EXIT_INVALID;
    }
    const { plan } = observed;
    io.out(options.json ? planJson(access.plan.cluster.name, access.server, plan) : formatPlan(access.plan.cluster.name, access.server, plan));
    if (!options.json) for (const problem of plan.problems) io.err(formatProblem(problem));
    return plan.changes.length === 0 && plan.problems.length === 0 ? EXIT_OK : EXIT_INVALID;
  });
}
