import { ConfigError, type Config } from '../config.js';
import type { ToolDefinition } from './types.js';
import { agentCancel } from './agents/agentCancel.js';
import { agentResult } from './agents/agentResult.js';
import { alertsAck } from './alerts/alertsAck.js';
import { alertsList } from './alerts/alertsList.js';
import { alertsTest } from './alerts/alertsTest.js';
import { spawnAgent } from './agents/spawnAgent.js';
import { spawnParallelAgents } from './agents/spawnParallelAgents.js';
import { costSetBudget } from './cost/costSetBudget.js';
import { costSummary } from './cost/costSummary.js';
import { healingStatus } from './healing/healingStatus.js';
import { predictRisk } from './prediction/predictRisk.js';
import { immuneCheck } from './immune/immuneCheck.js';
import { immuneDashboard } from './immune/immuneDashboard.js';
import { immuneFailures } from './immune/immuneFailures.js';
import { immuneFeedback } from './immune/immuneFeedback.js';
import { immuneStatus } from './immune/immuneStatus.js';
import { tasksAdd } from './tasks/tasksAdd.js';
import { tasksComplete } from './tasks/tasksComplete.js';
import { tasksDelete } from './tasks/tasksDelete.js';
import { tasksDue } from './tasks/tasksDue.js';
import { tasksImport } from './tasks/tasksImport.js';
import { tasksList } from './tasks/tasksList.js';
import { tasksUpdate } from './tasks/tasksUpdate.js';
import { trialsExport } from './trials/trialsExport.js';
import { trialsGet } from './trials/trialsGet.js';
import { trialsList } from './trials/trialsList.js';

/** Every tool the server knows, in the order tools/list shows them. */
export const ALL_TOOLS: readonly ToolDefinition[] = [
  spawnAgent,
  spawnParallelAgents,
  agentResult,
  agentCancel,
  tasksAdd,
  tasksList,
  tasksComplete,
  tasksUpdate,
  tasksDelete,
  tasksDue,
  tasksImport,
  costSummary,
  costSetBudget,
  healingStatus,
  trialsList,
  trialsGet,
  trialsExport,
  alertsList,
  alertsAck,
  alertsTest,
  predictRisk,
  immuneCheck,
  immuneStatus,
  immuneDashboard,
  immuneFailures,
  immuneFeedback,
];

/**
 * Applies TASK_ORCHESTRATOR_TOOLS and TASK_ORCHESTRATOR_DISABLED_TOOLS. Unknown names are a
 * start-up error, so a typo never silently hides a tool.
 */
export function selectTools(all: readonly ToolDefinition[], selection: Config['tools']): ToolDefinition[] {
  const known = new Set(all.map((t) => t.name));
  const check = (variable: string, names: readonly string[]) => {
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) {
      throw new ConfigError(variable, `names unknown tools: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
    }
  };
  let chosen: ToolDefinition[];
  if (selection.selection === 'all') chosen = [...all];
  else if (selection.selection === 'core') chosen = all.filter((t) => t.set === 'core');
  else {
    check('TASK_ORCHESTRATOR_TOOLS', selection.selection);
    const wanted = new Set(selection.selection);
    chosen = all.filter((t) => wanted.has(t.name));
  }
  check('TASK_ORCHESTRATOR_DISABLED_TOOLS', selection.disabled);
  const disabled = new Set(selection.disabled);
  const tools = chosen.filter((t) => !disabled.has(t.name));
  if (tools.length === 0) throw new ConfigError('TASK_ORCHESTRATOR_DISABLED_TOOLS', 'disables every tool TASK_ORCHESTRATOR_TOOLS chose; the server would have nothing to offer');
  return tools;
}
