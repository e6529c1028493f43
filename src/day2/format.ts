// How `plan` and `apply` show a day-2 plan: one line per change, in apply's order, or JSON.
import { type Problem } from '../diagnostics.js';
import { type Change, type DayTwoPlan } from './changes.js';

export function describeChange(change: Change): string {
  switch (change.action) {
    case 'register':
      return `+ register ${change.node} (worker): publish its join script, report and RBAC, create its bootstrap token; then boot its card`;
    case 'remove':
      return change.hasNode
        ? `- remove ${change.node}: cordon, drain, kubeadm reset over SSH, delete its Node, its bootstrap token, join script, report and RBAC`
        : `- remove what is left of ${change.node}: its bootstrap token, join script, report and RBAC (it has no Node)`;
    case 'label':
      return `~ label ${change.node} node-role.kubernetes.io/worker`;
  }
}

export function formatPlan(cluster: string, server: string, plan: DayTwoPlan): string {
  const lines = [`cluster ${cluster} at ${server}:`];
  for (const change of plan.changes) lines.push(`  ${describeChange(change)}`);
  for (const node of plan.waiting) lines.push(`  (${node} is registered and has not joined yet: boot its card)`);
  if (plan.changes.length === 0) lines.push(plan.problems.length === 0 ? '  nothing to do: the cluster matches cluster.yaml' : '  no change pi-seed can make until the problems below are solved');
  else lines.push(`${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'} to make (pi-seed apply, which makes them, is not in this release yet: docs/day-2.md).`);
  return `${lines.join('\n')}\n`;
}

const problemJson = (p: Problem) => ({ code: p.code, message: p.message, ...(p.hint ? { hint: p.hint } : {}) });

export function planJson(cluster: string, server: string, plan: DayTwoPlan): string {
  return `${JSON.stringify({ cluster, server, changes: plan.changes.map((c) => ({ ...c, description: describeChange(c) })), waiting: plan.waiting, problems: plan.problems.map(problemJson) }, null, 2)}\n`;
}
